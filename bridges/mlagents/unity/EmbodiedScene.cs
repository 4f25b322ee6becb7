// Reference source (not compiled in this repository): renders embodied scene nodes in Unity.
// Node schema: docs/protocol.md ("id", "seg", "kind", "shape", "size", "pos", "hpr", "color",
// "visible", "text", "text_color"). Frames: embodied is x east, y north, z up (right-handed,
// meters, heading counter-clockwise seen from above, cameras look along +y); Unity is x right,
// y up, z forward (left-handed). So Unity position = (x, z, y), yaw about Unity's y = -h, and a
// camera's Unity rotation = Euler(-p, -h, r) (Unity cameras look along +z = our +y).
using System;
using System.Collections.Generic;
using System.Linq;
using UnityEngine;

namespace Embodied
{
    public class EmbodiedScene : MonoBehaviour
    {
        [Tooltip("Optional prefabs by node kind (chest, key, wall...); primitives otherwise.")]
        public List<KindPrefab> prefabs = new List<KindPrefab>();
        public EmbodiedCameraAgent agentTemplate;

        readonly Dictionary<string, GameObject> nodes = new Dictionary<string, GameObject>();
        readonly Dictionary<string, EmbodiedCameraAgent> cameras = new Dictionary<string, EmbodiedCameraAgent>();

        [Serializable]
        public class KindPrefab { public string kind; public GameObject prefab; public Vector3 nativeSize = Vector3.one; }

        public Dictionary<string, object> Handle(string op, Dictionary<string, object> m)
        {
            switch (op)
            {
                case "load_scene": return Load((object[])m["nodes"]);
                case "update": return new Dictionary<string, object> { { "updated", Update((object[])m["updates"]) } };
                case "camera": SetCameras((object[])m["cameras"]); return new Dictionary<string, object>();
                case "render": return Render(m);
                case "info": return new Dictionary<string, object> { { "info", new Dictionary<string, object>() } };
                default: throw new ArgumentException($"unknown op '{op}'; expected load_scene, update, camera, render, info");
            }
        }

        Dictionary<string, object> Load(object[] list)
        {
            foreach (var go in nodes.Values) Destroy(go);
            nodes.Clear();
            foreach (Dictionary<object, object> n in list)
            {
                var id = (string)n["id"];
                var kind = n.ContainsKey("kind") ? (string)n["kind"] : "";
                var go = Spawn(kind, (string)n["shape"], Vec(n["size"]));
                go.name = id;
                go.layer = LayerMask.NameToLayer("Default");
                // the object-mask colour of seg id k, for a segmentation camera that reads it back
                go.AddComponent<EmbodiedSeg>().seg = Convert.ToInt32(n["seg"]);
                nodes[id] = go;
                Apply(go, n);
            }
            return new Dictionary<string, object> { { "nodes", list.Length } };
        }

        GameObject Spawn(string kind, string shape, Vector3 size)
        {
            var kp = prefabs.FirstOrDefault(p => p.kind == kind);
            GameObject go;
            Vector3 native = Vector3.one;
            if (kp != null) { go = Instantiate(kp.prefab); native = kp.nativeSize; }
            else
            {
                var prim = shape == "cylinder" ? PrimitiveType.Cylinder : shape == "sphere" ? PrimitiveType.Sphere
                    : shape == "card" ? PrimitiveType.Quad : PrimitiveType.Cube;
                go = GameObject.CreatePrimitive(prim);
                if (shape == "cylinder") native = new Vector3(1, 2, 1);  // Unity's cylinder is 2 m tall
            }
            // our size (x, y depth, z height) -> Unity (x, y height, z depth); flat axes stay 1
            var s = new Vector3(size.x, size.z, Math.Max(size.y, 0.001f));
            go.transform.localScale = new Vector3(s.x / native.x, s.y / native.y, s.z / native.z);
            return go;
        }

        int Update(object[] list)
        {
            foreach (Dictionary<object, object> u in list)
            {
                var id = (string)u["id"];
                if (!nodes.TryGetValue(id, out var go)) throw new ArgumentException($"unknown node id '{id}'");
                Apply(go, u);
            }
            return list.Length;
        }

        static void Apply(GameObject go, Dictionary<object, object> u)
        {
            if (u.ContainsKey("pos")) { var p = Vec(u["pos"]); go.transform.position = new Vector3(p.x, p.z, p.y); }
            if (u.ContainsKey("hpr")) { var r = Vec(u["hpr"]); go.transform.rotation = Quaternion.Euler(-r.y, -r.x, r.z); }
            if (u.ContainsKey("visible")) go.SetActive((bool)u["visible"]);
            if (u.ContainsKey("color")) { var c = Vec(u["color"]); go.GetComponent<Renderer>().material.color = new Color(c.x, c.y, c.z); }
            // "text": attach a TextMeshPro on the front face (local -y in embodied = Unity -z) here.
        }

        void SetCameras(object[] list)
        {
            foreach (Dictionary<object, object> c in list)
            {
                var agent = (string)c["agent"];
                if (!cameras.TryGetValue(agent, out var cam))
                    cameras[agent] = cam = Instantiate(agentTemplate);
                cam.Configure(Vec(c["pos"]), Vec(c["hpr"]), Convert.ToSingle(c["fov"]),
                              Convert.ToInt32(c["width"]), Convert.ToInt32(c["height"]));
            }
        }

        Dictionary<string, object> Render(Dictionary<string, object> m)
        {
            if (m.ContainsKey("updates")) Update((object[])m["updates"]);
            if (m.ContainsKey("cameras")) SetCameras((object[])m["cameras"]);
            var agents = ((object[])m["agents"]).Cast<string>().ToList();
            // The requested cameras request a decision this step, in request order: their visual
            // observation (a CameraSensor) carries the rgb frame to Python.
            foreach (var a in agents) cameras[a].RequestDecision();
            var first = cameras[agents[0]];
            return new Dictionary<string, object> {
                { "agents", agents.ToArray() }, { "size", new[] { first.Height, first.Width } },
                { "buffers", new Dictionary<string, object>() }  // depth/seg: read back render textures here
            };
        }

        static Vector3 Vec(object o)
        {
            var a = ((object[])o).Select(Convert.ToSingle).ToArray();
            return new Vector3(a[0], a[1], a[2]);
        }
    }

    public class EmbodiedSeg : MonoBehaviour { public int seg; }
}
