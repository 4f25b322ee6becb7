// Reference source (not compiled in this repository): the Unity side of embodied's scene channel.
// Add to a Unity project with the ML-Agents package (com.unity.ml-agents 2.x, communication 1.5.0)
// and MessagePack-CSharp (https://github.com/MessagePack-CSharp/MessagePack-CSharp).
// Protocol: bridges/mlagents/channel.py and docs/unity.md. Every request is a msgpack map
// {"id", "op", ...}; every reply {"id", "ok", ...} or {"id", "ok": false, "error"}.
using System;
using System.Collections.Generic;
using MessagePack;
using Unity.MLAgents.SideChannels;
using UnityEngine;

namespace Embodied
{
    public class EmbodiedSceneChannel : SideChannel
    {
        // Must equal bridges/mlagents/channel.py CHANNEL_ID.
        public static readonly Guid Id = new Guid("6f3f6d2e-5a36-4f8e-9b0e-656d626f6469");
        readonly EmbodiedScene scene;

        public EmbodiedSceneChannel(EmbodiedScene scene)
        {
            ChannelId = Id;
            this.scene = scene;
        }

        protected override void OnMessageReceived(IncomingMessage msg)
        {
            var request = MessagePackSerializer.Deserialize<Dictionary<string, object>>(msg.GetRawBytes());
            object id = request.TryGetValue("id", out var v) ? v : 0;
            Dictionary<string, object> reply;
            try
            {
                reply = scene.Handle((string)request["op"], request);
                reply["ok"] = true;
            }
            catch (Exception e)  // every failure is a reply; the player keeps running
            {
                reply = new Dictionary<string, object> { { "ok", false }, { "error", e.Message } };
            }
            reply["id"] = id;
            using (var outgoing = new OutgoingMessage())
            {
                outgoing.SetRawBytes(MessagePackSerializer.Serialize(reply));
                QueueMessageToSend(outgoing);
            }
        }
    }
}
