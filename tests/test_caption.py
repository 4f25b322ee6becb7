"""GIF captions: a long feedback line is shown whole in smaller type, or cut visibly with '…'."""

import numpy as np
from PIL import ImageDraw

from embodied.record import caption, fit_text


def test_long_feedbackfit_texts_instead_of_being_cut_mid_word():
    frame = np.zeros((224, 224, 3), np.uint8)
    line = "cannot Read note_left: note_left is 2.9 m away; get within 1.5 m"
    img = caption(frame, ["3  Read(note_left) (failed)", line, "read it"])
    draw = ImageDraw.Draw(img)
    font, text = fit_text(draw, line, img.width - 12)
    assert text == line and draw.textlength(text, font=font) <= img.width - 12
    font, text = fit_text(draw, "x" * 500, img.width - 12)
    assert text.endswith("…") and draw.textlength(text, font=font) <= img.width - 12
    assert caption(frame, ["a", "b" * 500, "c"]).size == img.size  # every GIF frame the same size


def test_bench_replay_caption_fits_too():
    from embodied.bench.episode import caption as bench_caption

    frame = np.zeros((224, 224, 3), np.uint8)
    long = (
        "An old manor, locked for the night. Find the way out. (4 locks protect the exit; notes hold codes)"
    )
    short = bench_caption(frame, ["x", "start", "room: hall"])
    assert bench_caption(frame, [long, "start", "room: hall"]).size == short.size


def test_bench_replay_of_small_frames_leaves_the_caption_room():
    from embodied.bench.episode import caption as bench_caption

    small = bench_caption(np.zeros((64, 64, 3), np.uint8), ["", "  3 Read(note_left) (failed)", "read it"])
    assert small.width == 256  # enlarged 4x (nearest), so 'Read(note_left) (failed)' is not cut to a stub
    assert bench_caption(np.zeros((224, 224, 3), np.uint8), ["", "x", "y"]).width == 224  # kept as is
