// Reference source (not compiled in this repository): one ML-Agents agent per embodied camera.
// Behavior name "Camera" (Behavior Parameters: Behavior Type Default, one discrete branch of
// size 1, Decision Requester absent: EmbodiedScene requests decisions for the cameras it renders).
// A CameraSensorComponent on the same GameObject (PNG compression, RGB) makes the rgb frame the
// agent's visual observation; Configure() resizes it to the requested width and height.
using Unity.MLAgents;
using Unity.MLAgents.Sensors;
using UnityEngine;

namespace Embodied
{
    [RequireComponent(typeof(Camera))]
    public class EmbodiedCameraAgent : Agent
    {
        public int Width { get; private set; } = 84;
        public int Height { get; private set; } = 84;

        public void Configure(Vector3 pos, Vector3 hpr, float horizontalFov, int width, int height)
        {
            transform.position = new Vector3(pos.x, pos.z, pos.y);          // embodied -> Unity axes
            transform.rotation = Quaternion.Euler(-hpr.y, -hpr.x, hpr.z);
            var cam = GetComponent<Camera>();
            var aspect = (float)width / height;
            cam.fieldOfView = Camera.HorizontalToVerticalFieldOfView(horizontalFov, aspect);  // Unity's is vertical
            var sensor = GetComponent<CameraSensorComponent>();
            if (sensor.Width != width || sensor.Height != height)
            {
                sensor.Width = width;   // a new size re-sends the brain parameters (new observation shape)
                sensor.Height = height;
            }
            Width = width;
            Height = height;
        }

        public override void OnActionReceived(Unity.MLAgents.Actuators.ActionBuffers actions) { }
    }
}
