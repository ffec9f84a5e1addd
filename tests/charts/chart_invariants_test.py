"""What ops trust the chart for, checked on rendered objects (default and
production-like values): hardened containers, gRPC health probes, media
engines that drain before they go, and NetworkPolicies that open only the
broker's gRPC and the media UDP range to the outside."""
import os
import unittest

import chart_helm

CHART = chart_helm.chart_copy()
PRODUCTION = os.path.join(CHART, "ci", "production-values.yaml")
RENDERS = {
    "default": chart_helm.render(CHART),
    "production": chart_helm.render(CHART, "-f", PRODUCTION),
    "plaintext": chart_helm.render(CHART, "--set", "tls.enabled=false"),
}


def workloads(objects):
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]


def by(objects, kind, component):
    for o in objects:
        if o["kind"] == kind and o["metadata"]["labels"].get("app.kubernetes.io/component") == component:
            return o
    raise AssertionError(f"no {kind} for {component}")


def args_of(workload):
    return workload["spec"]["template"]["spec"]["containers"][0]["args"]


def seconds(duration):
    unit = {"s": 1, "m": 60, "h": 3600}[duration[-1]]
    return int(duration[:-1]) * unit


class ChartInvariantsTest(unittest.TestCase):
    def test_EveryContainerRunsNonRootReadOnlyWithoutCapabilities(self):
        for name, objects in RENDERS.items():
            for w in workloads(objects):
                pod = w["spec"]["template"]["spec"]
                self.assertTrue(pod["securityContext"]["runAsNonRoot"], (name, w["metadata"]["name"]))
                self.assertNotEqual(pod["securityContext"].get("runAsUser"), 0)
                self.assertFalse(pod.get("automountServiceAccountToken", True))
                for c in pod["containers"]:
                    sc = c["securityContext"]
                    self.assertTrue(sc["readOnlyRootFilesystem"], (name, c["name"]))
                    self.assertFalse(sc["allowPrivilegeEscalation"], (name, c["name"]))
                    self.assertFalse(sc.get("privileged", False))
                    self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
                    self.assertNotIn("add", sc["capabilities"])

    def test_EveryServiceHasGrpcHealthProbes(self):
        for name, objects in RENDERS.items():
            tls = name != "plaintext"
            for w in workloads(objects):
                c = w["spec"]["template"]["spec"]["containers"][0]
                port = next(p["containerPort"] for p in c["ports"] if p["name"] == "grpc")
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    p = c[probe]
                    if tls:
                        # Kubernetes' gRPC probe cannot do TLS: the image's
                        # grpc.health.v1 client runs with the pod's certificate.
                        cmd = p["exec"]["command"]
                        self.assertEqual(cmd[0], "/usr/local/bin/sotto-health-probe")
                        self.assertIn(f"--address=127.0.0.1:{port}", cmd)
                        self.assertIn("--tls_client_cert_file=/etc/sotto/tls/tls.crt", cmd)
                    else:
                        self.assertEqual(p["grpc"]["port"], port, (name, probe))

    def test_MediaEnginesDrainLiveCallsBeforeThePodGoes(self):
        for name, objects in RENDERS.items():
            media = by(objects, "StatefulSet", "media")
            pod = media["spec"]["template"]["spec"]
            drain = next(a for a in args_of(media) if a.startswith("--drain_deadline="))
            self.assertGreaterEqual(seconds(drain.split("=", 1)[1]), 1800, name)
            self.assertGreater(pod["terminationGracePeriodSeconds"], seconds(drain.split("=", 1)[1]), name)
            pre_stop = " ".join(pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"])
            self.assertIn("kill -TERM 1", pre_stop)
            self.assertEqual(media["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"], 1)
            pdb = by(objects, "PodDisruptionBudget", "media")
            self.assertEqual(pdb["spec"]["maxUnavailable"], 1)

    def test_MediaEnginesAdvertiseTheirAddressAndControlNameToTheBroker(self):
        objects = RENDERS["production"]
        media = by(objects, "StatefulSet", "media")
        args = args_of(media)
        env = {e["name"]: e for e in media["spec"]["template"]["spec"]["containers"][0]["env"]}
        self.assertIn("--media_ip=$(MEDIA_IP)", args)
        self.assertEqual(env["MEDIA_IP"]["valueFrom"]["fieldRef"]["fieldPath"], "status.hostIP")
        self.assertIn("--engine_id=$(POD_NAME)", args)
        self.assertIn("--broker_address=sotto-broker:7100", args)
        self.assertIn("--control_address=$(POD_NAME).sotto-media.$(POD_NAMESPACE).svc.cluster.local:7102", args)
        self.assertIn("--port_min=30000", args)
        self.assertIn("--port_max=39999", args)
        self.assertTrue(media["spec"]["template"]["spec"]["hostNetwork"])
        cert = next(o for o in objects if o["kind"] == "Certificate" and o["metadata"]["name"] == "sotto-media")
        self.assertIn("*.sotto-media.sotto.svc.cluster.local", cert["spec"]["dnsNames"])

    def test_OnlyBrokerGrpcAndMediaUdpFaceTheOutside(self):
        for name in ("default", "production"):
            policies = [o for o in RENDERS[name] if o["kind"] == "NetworkPolicy"]
            deny = next(p for p in policies if p["metadata"]["name"].endswith("default-deny"))
            self.assertNotIn("ingress", deny["spec"])
            open_ports = set()
            for p in policies:
                component = p["metadata"]["labels"].get("app.kubernetes.io/component")
                for rule in p["spec"].get("ingress", []):
                    peers = rule.get("from")
                    internal = peers and all("podSelector" in peer and "namespaceSelector" not in peer for peer in peers)
                    for port in rule["ports"]:
                        if internal:
                            continue
                        if port["port"] >= 9100 and port["port"] <= 9104:
                            # /metrics: only from the configured scrapers.
                            self.assertTrue(peers, (name, component))
                            continue
                        open_ports.add((component, port["protocol"], port["port"], port.get("endPort")))
            media_range = {("media", "UDP", 30000, 39999)} if name == "production" else {("media", "UDP", 20000, 29999)}
            self.assertEqual(open_ports, {("broker", "TCP", 7100, None)} | media_range, name)

    def test_HostNetworkEnginesCanRegisterWithARestrictedBroker(self):
        # Their traffic comes from the node's address, not a pod selector.
        policy = next(o for o in RENDERS["production"] if o["kind"] == "NetworkPolicy"
                      and o["metadata"]["name"] == "sotto-broker")
        peers = [peer for rule in policy["spec"]["ingress"] for peer in rule.get("from", [])
                 if any(p["port"] == 7100 for p in rule["ports"])]
        self.assertIn({"ipBlock": {"cidr": "10.20.0.0/16"}}, peers)
        self.assertIn({"ipBlock": {"cidr": "203.0.113.0/24"}}, peers)

    def test_ServicesTalkMutualTls(self):
        objects = RENDERS["production"]
        for w in workloads(objects):
            args = args_of(w)
            self.assertIn("--tls_cert_file=/etc/sotto/tls/tls.crt", args)
            self.assertIn("--tls_client_ca_file=/etc/sotto/tls/ca.crt", args)
        for component in ("broker", "media", "recorder", "reporting"):
            w = by(objects, "StatefulSet" if component == "media" else "Deployment", component)
            self.assertIn("--tls_client_cert_file=/etc/sotto/tls/tls.crt", args_of(w), component)
        certs = [o for o in objects if o["kind"] == "Certificate"]
        self.assertEqual(len(certs), 5)
        for c in certs:
            self.assertIn("client auth", c["spec"]["usages"])
            self.assertIn("server auth", c["spec"]["usages"])
            self.assertEqual(c["spec"]["issuerRef"]["kind"], "ClusterIssuer")

    def test_PolicyDocumentIsMountedForHotReload(self):
        objects = RENDERS["production"]
        policy = by(objects, "Deployment", "policy")
        pod = policy["spec"]["template"]["spec"]
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "policy")
        # A subPath mount never sees ConfigMap updates; a directory mount does.
        self.assertNotIn("subPath", mount)
        self.assertIn("--policy_file=" + mount["mountPath"] + "/policy.yaml", args_of(policy))
        # No checksum annotation: a policy edit must not restart the pods.
        self.assertNotIn("annotations", policy["spec"]["template"]["metadata"])
        jwt = next(v for v in pod["volumes"] if v["name"] == "jwt")
        self.assertEqual(jwt["secret"]["secretName"], "sotto-jwt-keys")

    def test_DatabaseConnectionComesFromTheSecret(self):
        objects = RENDERS["production"]
        for component in ("broker", "recorder", "reporting"):
            w = by(objects, "Deployment", component)
            self.assertIn("--store=$(SOTTO_STORE_DSN)", args_of(w))
            env = {e["name"]: e for e in w["spec"]["template"]["spec"]["containers"][0]["env"]}
            ref = env["SOTTO_STORE_DSN"]["valueFrom"]["secretKeyRef"]
            self.assertEqual((ref["name"], ref["key"]), ("sotto-postgres", f"{component}-dsn"))
            self.assertEqual(env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["key"], "password")

    def test_RecordingsLiveOnAClaimKeptAcrossUninstall(self):
        objects = RENDERS["default"]
        pvc = next(o for o in objects if o["kind"] == "PersistentVolumeClaim")
        self.assertEqual(pvc["metadata"]["annotations"]["helm.sh/resource-policy"], "keep")
        recorder = by(objects, "Deployment", "recorder")
        claim = next(v for v in recorder["spec"]["template"]["spec"]["volumes"] if v["name"] == "recordings")
        self.assertEqual(claim["persistentVolumeClaim"]["claimName"], pvc["metadata"]["name"])
        # ReadWriteOnce: the old pod must let go before the new one mounts.
        self.assertEqual(recorder["spec"]["strategy"]["type"], "Recreate")

    def test_StatelessServicesScaleWithHpaAndPdb(self):
        objects = RENDERS["production"]
        hpas = {o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
        self.assertEqual(hpas, {"sotto-broker", "sotto-reporting"})
        for component in ("broker", "policy", "reporting"):
            by(objects, "PodDisruptionBudget", component)
            d = by(objects, "Deployment", component)
            self.assertEqual(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0)


if __name__ == "__main__":
    unittest.main()
