// Reference source (not compiled in this repository): registers the scene channel at start-up.
using Unity.MLAgents;
using Unity.MLAgents.SideChannels;
using UnityEngine;

namespace Embodied
{
    public class EmbodiedAcademy : MonoBehaviour
    {
        public EmbodiedScene scene;
        EmbodiedSceneChannel channel;

        void Awake()
        {
            channel = new EmbodiedSceneChannel(scene);
            SideChannelManager.RegisterSideChannel(channel);
            Academy.Instance.AutomaticSteppingEnabled = true;
        }

        void OnDestroy()
        {
            if (Academy.IsInitialized) SideChannelManager.UnregisterSideChannel(channel);
        }
    }
}
