"""One self-contained HTML report of benchmark runs: leaderboard, plots, replays, cost.

Everything is inline (CSS, plots as base64 PNG, replays as base64 animated WebP), so the file opens
from disk with no server and no network, and can be mailed or attached to a paper's review.
"""

from __future__ import annotations

import base64
import html
import io
import time
from pathlib import Path
from typing import Any

from .leaderboard import COLS, HEADERS, leaderboard, load_runs
from .metrics import aggregate

CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1d1d1f;background:#fafafa}
h1{font-size:24px;margin:0 0 4px} h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px} .muted{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px;background:#fff;margin:8px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f0f0f3} td:nth-child(-n+4){text-align:left} tr.all td{font-weight:600;background:#f6f8ff}
.plots img{max-width:100%;border:1px solid #ddd;background:#fff}
.replays{display:flex;flex-wrap:wrap;gap:12px}
img.replay{image-rendering:pixelated}
figure{margin:0;background:#fff;border:1px solid #ddd;padding:6px} figcaption{font-size:12px;max-width:460px}
.ok{color:#17803d;font-weight:600} .fail{color:#b3261e;font-weight:600} code{font-size:12px}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _plots(runs: list[tuple[str, dict, list]]) -> list[tuple[str, str]]:
    """One figure per suite: success, progress and SPL per tier, one bar per run, s.e. as error bars."""
    try:
        import matplotlib
    except ImportError:
        from .suites import SuiteError

        raise SuiteError("the report's plots need matplotlib: pip install 'embodied[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    aggs = [(label, aggregate(results)) for label, _, results in runs]
    suites = sorted({s for _, m in aggs for s in m["suites"]})
    out = []
    for suite in suites:
        tiers = sorted(
            {t for _, m in aggs for t in m["suites"].get(suite, {}).get("tiers", {})},
            key=lambda t: (len(t), t),
        )
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
        width = 0.8 / max(1, len(aggs))
        for ax, metric, title in zip(axes, ("success", "progress", "spl"), ("success", "progress", "SPL")):
            for i, (label, m) in enumerate(aggs):
                ts = m["suites"].get(suite, {}).get("tiers", {})
                xs = [j + (i - (len(aggs) - 1) / 2) * width for j in range(len(tiers))]
                ys = [ts[t][metric]["mean"] if t in ts else 0 for t in tiers]
                es = [ts[t][metric]["se"] if t in ts else 0 for t in tiers]
                ax.bar(xs, ys, width, yerr=es, capsize=3, label=label)
            ax.set_xticks(range(len(tiers)), [f"tier {t}" for t in tiers])
            ax.set_ylim(0, 1.05)
            ax.set_title(f"{suite}: {title}")
            ax.grid(axis="y", alpha=0.3)
        axes[0].legend(fontsize=8)
        out.append((suite, _png(fig)))
        plt.close(fig)
    return out


def _replay(path: Path, max_bytes: int) -> tuple[str, int] | None:
    """A replay GIF as an inline image and the width to show it at (twice its own when small).

    Every frame and its time is kept, encoded as animated WebP (lossy, quality 80), which is
    about a tenth of the GIF for rendered rooms; the GIF itself when that is smaller or Pillow
    has no WebP."""
    if not path.exists() or path.stat().st_size > max_bytes:
        return None
    from PIL import Image, ImageSequence, features

    data, kind = path.read_bytes(), "gif"
    with Image.open(path) as im:
        width = im.width
        if features.check("webp"):
            frames, ms = [], []
            for f in ImageSequence.Iterator(im):
                frames.append(f.convert("RGB"))
                ms.append(f.info.get("duration", 250))
            buf = io.BytesIO()
            frames[0].save(
                buf,
                "WEBP",
                save_all=True,
                append_images=frames[1:],
                duration=ms,
                loop=0,
                quality=80,
                method=4,
            )
            if buf.tell() < len(data):
                data, kind = buf.getvalue(), "webp"
    shown = width * 2 if width <= 400 else width
    return f"data:image/{kind};base64," + base64.b64encode(data).decode(), shown


def build(dirs: list[str], replays: int = 1, max_gif_mb: float = 4.0, progress=None) -> str:
    """The report's HTML for run directories ``dirs`` (the first is the baseline for paired
    differences). ``progress(done, total, key)`` is called as each replay is encoded."""
    runs = load_runs(dirs)
    board = leaderboard(dirs)
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>embodied benchmark report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Benchmark report</h1>",
        f"<p class='muted'>generated {time.strftime('%Y-%m-%d %H:%M:%S')} from {len(runs)} run(s); "
        "figures are means ± standard error over episodes (one seed each).</p>",
        "<h2 id='runs'>Runs</h2><table><tr><th>run</th><th>agent</th><th>suites (version)</th><th>episodes</th>"
        "<th>options</th></tr>",
    ]
    for label, cfg, results in runs:
        suites = ", ".join(f"{k} v{v['version']}" for k, v in cfg.get("suites", {}).items())
        opts = e(", ".join(f"{k}={v}" for k, v in cfg.get("agent_options", {}).items()) or "-")
        parts.append(
            f"<tr><td>{e(label)}</td><td>{e(cfg['agent'])}</td><td>{e(suites)}</td>"
            f"<td>{len(results)} / {len(cfg.get('episodes', []))}</td><td>{opts}</td></tr>"
        )
    parts.append("</table><h2 id='leaderboard'>Leaderboard</h2><table id='leaderboard-table'><tr>")
    parts += [f"<th>{h}</th>" for h in HEADERS]
    parts.append("</tr>")
    for row in board["rows"]:
        cls = " class='all'" if row["tier"] == "all" else ""
        parts.append(f"<tr{cls}>" + "".join(f"<td>{e(c)}</td>" for c in row["cells"]) + "</tr>")
    parts.append("</table>")
    if board["paired"]:
        parts.append(
            "<h3>Paired difference in success (same episodes; each run minus the first)</h3><table>"
            "<tr><th>run</th><th>vs</th><th>suite</th><th>tier</th><th>n</th><th>difference ± s.e.</th></tr>"
        )
        for d in board["paired"]:
            parts.append(
                f"<tr><td>{e(d['run'])}</td><td>{e(d['vs'])}</td><td>{e(d['suite'])}</td><td>{e(d['tier'])}</td>"
                f"<td>{d['n']}</td><td>{e(d['text'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2 id='plots'>Per suite and tier</h2><div class='plots'>")
    for suite, uri in _plots(runs):
        parts.append(f"<h3>{e(suite)}</h3><img class='plot' alt='{e(suite)} per tier' src='{uri}'>")
    parts.append(
        "</div><h2 id='cost'>Cost</h2><table><tr><th>run</th><th>agent</th><th>suite</th><th>episodes</th>"
        "<th>successes</th><th>tokens</th><th>images</th><th>cost $</th><th>$ per episode</th>"
        "<th>$ per success</th><th>tokens per success</th><th>wall time s</th></tr>"
    )
    for label, cfg, results in runs:
        m = aggregate(results)
        for suite, s in m["suites"].items():
            g = s["overall"]
            ps = g["cost_per_success"]
            ts = g["tokens_per_success"]
            secs = sum(r.get("seconds", 0) for r in results if r["suite"] == suite)
            parts.append(
                f"<tr><td>{e(label)}</td><td>{e(cfg['agent'])}</td><td>{e(suite)}</td><td>{g['episodes']}</td>"
                f"<td>{g['successes']}</td><td>{g['tokens_total']:.0f}</td><td>{g['images_total']:.0f}</td>"
                f"<td>{g['cost_total']:.4f}</td><td>{g['cost']['mean']:.4f}</td>"
                f"<td>{'-' if ps is None else f'{ps:.4f}'}</td><td>{'-' if ts is None else f'{ts:.0f}'}</td>"
                f"<td>{secs:.1f}</td></tr>"
            )
    parts.append(
        "</table><h2 id='replays'>Episode replays</h2>"
        "<p class='muted'>Each frame's caption: the agent's thought (when it gives one), the action, "
        "and the feedback.</p>"
    )
    groups = [{(r["suite"], str(r["tier"])) for r in results if r.get("replay")} for _, _, results in runs]
    total, done = sum(len(g) for g in groups) * replays, 0
    for label, _cfg, results in runs:
        shown: dict[tuple[str, str], int] = {}
        parts.append(f"<h3>{e(label)}</h3><div class='replays'>")
        for r in results:
            k = (r["suite"], str(r["tier"]))
            if shown.get(k, 0) >= replays or not r.get("replay"):
                continue
            if progress:
                progress(done, total, r["key"])
            done += 1
            shown_as = _replay(
                Path(dirs[[x[0] for x in runs].index(label)]) / r["replay"], int(max_gif_mb * 2**20)
            )
            if shown_as is None:
                continue
            uri, width = shown_as
            shown[k] = shown.get(k, 0) + 1
            verdict = (
                "<span class='ok'>success</span>" if r["success"] else "<span class='fail'>failed</span>"
            )
            parts.append(
                f"<figure><img class='replay' width='{width}' alt='replay {e(r['key'])}' src='{uri}'><figcaption><code>{e(r['key'])}</code> "
                f"{verdict} in {r['steps']} steps (oracle {r['optimal_steps']}, budget {r['budget']}), "
                f"progress {r['progress']:.0%}</figcaption></figure>"
            )
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(dirs: list[str], out: str | Path, **kw: Any) -> Path:
    html = build(dirs, **kw)  # bad run directories are reported before anything is written
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


__all__ = ["COLS", "build", "write"]
