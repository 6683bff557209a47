"""A real Kubernetes node for the e2e tests, in a network namespace of its own.

containerd and runc (Debian's), the CNI bridge, host-local and loopback plugins
(Debian's containernetworking-plugins), a kubelet and kube-proxy built from the same
pinned Kubernetes module as the control plane, and CoreDNS built from its Go module (the
cluster DNS) all run inside one network namespace that the fixture makes and removes:
the host's iptables, routes and ports never change. The node's address is on the
namespace's loopback (this kernel has no dummy interface); the API server, which stays
on the host's 127.0.0.1, is reached from the namespace, and the namespace's Services
from the tests, through small forwarders (netns_forward.py).

What the host needs: root, cgroups (v1, hybrid or v2), /dev/kmsg, the bridge and
br_netfilter support of the kernel, nsenter (util-linux), iproute2, and the Debian
packages containerd, runc, containernetworking-plugins and catatonit (the pause image's
process). `why_no_node()` says what is missing. State lives under the fixture's folder;
the few fixed paths containerd and the kubelet still write are removed on stop when the
run made them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import requests
import yaml

from cloudgeo.common.managed_processes import ManagedProcess, free_port, wait_until
from tests.support.controlplane.build import Binaries
from tests.support.controlplane.pki import issue_client_certificate
from tests.support.controlplane.server import SERVICE_RANGE, ControlPlane

NODE_IP = "10.201.0.1"  # on the namespace's loopback
POD_SUBNET = "10.244.0.0/24"
CLUSTER_CIDR = "10.244.0.0/16"
API_PORT = 6443  # where the node's namespace reaches the API server
PAUSE_IMAGE = "cloudgeo.test/pause:catatonit"
BUSYBOX_IMAGE = "cloudgeo.test/busybox:static"
CNI_PLUGINS = Path("/usr/lib/cni")
CGROUPS = Path("/sys/fs/cgroup")
# Fixed paths the kubelet and containerd write whatever their configured folders: removed
# when the run made them (the k8s.io ones are the CRI's namespace, Docker's is moby).
FIXED_PATHS = ("/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/var/lib/cni",
               "/run/containerd/runc/k8s.io", "/run/containerd/fifo",
               "/run/containerd/io.containerd.runtime.v2.task/k8s.io")
SHIM_SOCKETS = Path("/run/containerd/s")
ROOT = Path(__file__).resolve().parents[3]


class NodeUnavailable(RuntimeError):
    """The machine lacks something a real node needs; the message says what."""


def why_no_node() -> str | None:
    """What this machine lacks to run a real node, or None."""
    if os.geteuid() != 0:
        return "a real kubelet and containerd need root"
    for tool in ("containerd", "containerd-shim-runc-v2", "runc", "ctr", "nsenter", "ip",
                 "catatonit", "busybox"):
        if not shutil.which(tool):
            return (f"'{tool}' is not installed (Debian: containerd, runc, util-linux, "
                    "iproute2, catatonit, busybox-static)")
    for plugin in ("bridge", "host-local", "loopback", "portmap"):
        if not (CNI_PLUGINS / plugin).exists():
            return f"the CNI plugin {plugin} is not in {CNI_PLUGINS} (Debian: " \
                   "containernetworking-plugins)"
    if not Path("/dev/kmsg").exists():
        return "the kubelet reads /dev/kmsg, which this machine does not have"
    return None


def _run(*argv: str, check: bool = True, timeout: float = 60, **kwargs
         ) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and done.returncode != 0:
        raise NodeUnavailable(f"{' '.join(argv)} failed: {done.stderr.strip()[-2000:]}")
    return done


class RealNode:
    def __init__(self, binaries: Binaries, plane: ControlPlane, folder: Path,
                 name: str = "node-1") -> None:
        self.binaries, self.plane, self.folder, self.name = binaries, plane, folder, name
        self.netns_name = f"cloudgeo-{uuid.uuid4().hex[:8]}"
        self.netns = f"/run/netns/{self.netns_name}"
        self.cgroup_root = f"cloudgeo-{self.netns_name}"
        self.processes: list[ManagedProcess] = []
        self.forwarders: list[ManagedProcess] = []
        self.socket = folder / "containerd" / "containerd.sock"
        self.made_paths: list[str] = []
        self.netns_before: set[str] = set()
        self.sockets_before: set[Path] = set()

    # -- start ------------------------------------------------------------------------
    def start(self) -> RealNode:
        reason = why_no_node()
        if reason:
            raise NodeUnavailable(reason)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.made_paths = [p for p in FIXED_PATHS if not Path(p).exists()]
        self.sockets_before = set(SHIM_SOCKETS.iterdir()) if SHIM_SOCKETS.exists() else set()
        self.netns_before = set(os.listdir("/run/netns")) if Path("/run/netns").exists() \
            else set()
        self._network_namespace()
        self._cgroups()
        self._forward_api()
        self._containerd()
        self._kubelet()
        self._kube_proxy()
        self._kubernetes_endpoints()
        self._coredns()
        return self

    def in_node(self, *argv: str) -> list[str]:
        return ["nsenter", f"--net={self.netns}", "--", *argv]

    def _network_namespace(self) -> None:
        _run("ip", "netns", "add", self.netns_name)
        _run(*self.in_node("ip", "link", "set", "lo", "up"))
        _run(*self.in_node("ip", "addr", "add", f"{NODE_IP}/32", "dev", "lo"))
        # A route for the Services' range, so that what runs in the node's namespace itself
        # (the forwarders) reaches a ClusterIP: kube-proxy rewrites it after routing.
        _run(*self.in_node("ip", "route", "add", SERVICE_RANGE, "dev", "lo", "src", NODE_IP))
        for key, value in (("net.ipv4.ip_forward", "1"),
                           ("net.bridge.bridge-nf-call-iptables", "1"),
                           ("net.ipv4.conf.all.route_localnet", "1")):
            _run(*self.in_node("sysctl", "-qw", f"{key}={value}"), check=False)

    def _cgroups(self) -> None:
        """A cgroup root of the node's own in each hierarchy, so that the kubelet's
        pods are accounted and removed apart from everything else on the host."""
        for hierarchy in self._hierarchies():
            own = hierarchy / self.cgroup_root
            own.mkdir(exist_ok=True)
            if (hierarchy / "cpuset.cpus").exists() and (own / "cpuset.cpus").exists():
                # A v1 cpuset starts empty: copy the parent's, or nothing can run in it.
                for name in ("cpuset.cpus", "cpuset.mems"):
                    (own / name).write_text((hierarchy / name).read_text())

    @staticmethod
    def _hierarchies() -> list[Path]:
        if (CGROUPS / "cgroup.controllers").exists():  # v2 only
            return [CGROUPS]
        return [p for p in CGROUPS.iterdir() if p.is_dir() and not p.is_symlink()
                and ((p / "cgroup.procs").exists())]

    def _forward(self, listen_ns: str, listen: str, connect_ns: str, connect: str,
                 name: str) -> ManagedProcess:
        process = ManagedProcess(name, [
            sys.executable, "-m", "tests.support.controlplane.netns_forward",
            listen_ns, listen, connect_ns, connect], self.folder / "logs" / f"{name}.log",
            cwd=ROOT).start()
        self.forwarders.append(process)
        wait_until(lambda: "forwarding" in process.tail(), 20, name, process)
        return process

    def _forward_api(self) -> None:
        api = self.plane.url.rsplit(":", 1)[1]
        self._forward(self.netns, f"{NODE_IP}:{API_PORT}", "-", f"127.0.0.1:{api}",
                      "forward-api")

    def forward_port(self, host: str, port: int, local: int | None = None) -> int:
        """A port on the host's 127.0.0.1 (`local`, or a free one) that reaches host:port
        as seen from the node (a Service's ClusterIP, a pod's IP, a NodePort)."""
        local = local or free_port()
        self._forward("-", f"127.0.0.1:{local}", self.netns, f"{host}:{port}",
                      f"forward-{host}-{port}-{local}")
        return local

    def start_in_node(self, name: str, argv: list[str], ready, timeout: float = 90
                      ) -> ManagedProcess:
        """A process in the node's network namespace (stopped with the node at the
        latest), once `ready()` says so."""
        process = ManagedProcess(name, self.in_node(*argv),
                                 self.folder / "logs" / f"{name}.log").start()
        self.processes.append(process)
        wait_until(ready, timeout, name, process, interval=0.5)
        return process

    def kubeconfig(self, name: str, certificate: str) -> Path:
        """A kubeconfig reaching the API server from inside the node."""
        path = self.folder / f"{name}.kubeconfig"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "node",
            "clusters": [{"name": "node", "cluster": {
                "server": f"https://{NODE_IP}:{API_PORT}",
                "certificate-authority": self.plane.pki.path("ca.crt")}}],
            "users": [{"name": name, "user": {
                "client-certificate": self.plane.pki.path(f"{certificate}.crt"),
                "client-key": self.plane.pki.path(f"{certificate}.key")}}],
            "contexts": [{"name": "node", "context": {"cluster": "node", "user": name}}]}))
        path.chmod(0o600)
        return path

    def _containerd(self) -> None:
        base = self.folder / "containerd"
        cni = self.folder / "cni"
        (cni / "net.d").mkdir(parents=True, exist_ok=True)
        (cni / "net.d" / "10-cloudgeo.conflist").write_text(json.dumps({
            "cniVersion": "0.4.0", "name": "cloudgeo", "plugins": [
                {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False,
                 "hairpinMode": True, "ipam": {
                     "type": "host-local", "dataDir": str(cni / "ipam"),
                     "ranges": [[{"subnet": POD_SUBNET}]],
                     "routes": [{"dst": "0.0.0.0/0"}]}},
                {"type": "portmap", "capabilities": {"portMappings": True}}]}))
        config = base / "config.toml"
        base.mkdir(parents=True, exist_ok=True)
        config.write_text(f"""version = 2
root = "{base / 'root'}"
state = "{base / 'state'}"
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # root here lacks CAP_SYS_RESOURCE: runc must not lower oom_score_adj below ours.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_PLUGINS}"
    conf_dir = "{cni / 'net.d'}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.internal.v1.opt"]
  path = "{base / 'opt'}"
""")
        self.start_in_node("containerd", ["containerd", "--config", str(config)],
                    lambda: self.ctr("version", check=False).returncode == 0)
        self.import_image(pause_image(self.folder / "pause.tar"))
        self.import_image(busybox_image(self.folder / "busybox.tar"))

    def ctr(self, *args: str, check: bool = True, timeout: float = 600
            ) -> subprocess.CompletedProcess:
        argv = ["ctr", "--address", str(self.socket), "--namespace", "k8s.io", *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise NodeUnavailable(f"{' '.join(argv)} failed: {done.stderr.strip()[-2000:]}")
        return done

    def import_image(self, archive: Path) -> None:
        """An image archive (`docker save`) into the node's runtime, where pods find it
        with imagePullPolicy Never (no registry can be reached here)."""
        self.ctr("images", "import", str(archive))

    def container_log(self, namespace: str, pod: str, container: str) -> str:
        """What a container printed, as the kubelet keeps it (the API server cannot reach
        the kubelet inside the namespace, so `kubectl logs` does not work here)."""
        texts = []
        for log in sorted(Path("/var/log/pods").glob(f"{namespace}_{pod}_*/{container}/*.log")):
            texts += [line.split(" ", 3)[-1] for line in log.read_text(
                errors="replace").splitlines()]
        return "\n".join(texts)

    def _kubelet(self) -> None:
        issue_client_certificate(self.plane.pki, f"kubelet-{self.name}",
                                 f"system:node:{self.name}", "system:nodes")
        root = self.folder / "kubelet"
        root.mkdir(parents=True, exist_ok=True)
        config = self.folder / "kubelet-config.yaml"
        config.write_text(yaml.safe_dump({
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "address": NODE_IP, "readOnlyPort": 0, "healthzBindAddress": "127.0.0.1",
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": self.plane.pki.path("ca.crt")}},
            "authorization": {"mode": "Webhook"},
            "cgroupDriver": "cgroupfs", "cgroupRoot": f"/{self.cgroup_root}",
            "failCgroupV1": False, "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "clusterDNS": [NODE_IP], "clusterDomain": "cluster.local",
            "resolvConf": str(self._resolv_conf()),
            "staticPodPath": "", "podCIDR": POD_SUBNET,
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                             "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": False, "enforceNodeAllocatable": [],
            "registerNode": True}))
        self.start_in_node("kubelet", [
            self.binaries.kubelet, "--config", str(config),
            "--kubeconfig", str(self.kubeconfig("kubelet", f"kubelet-{self.name}")),
            "--root-dir", str(root), "--cert-dir", str(self.folder / "kubelet-pki"),
            "--hostname-override", self.name, "--node-ip", NODE_IP, "--v", "1"],
            lambda: self._node_ready(), timeout=120)

    def _resolv_conf(self) -> Path:
        """What pods with dnsPolicy Default get: nothing beyond the cluster."""
        path = self.folder / "resolv.conf"
        path.write_text(f"nameserver {NODE_IP}\n")
        return path

    def _node_ready(self) -> bool:
        node = self.api(f"/api/v1/nodes/{self.name}")
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in node.get("status", {}).get("conditions", []))

    def api(self, path: str, method: str = "GET", body: dict | None = None) -> dict:
        pki = self.plane.pki
        answer = requests.request(method, f"{self.plane.url}{path}", json=body,
                                  cert=(pki.path("admin.crt"), pki.path("admin.key")),
                                  verify=pki.path("ca.crt"), timeout=10)
        if answer.status_code >= 400 and not (method == "DELETE" and answer.status_code == 404):
            raise NodeUnavailable(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json() if answer.content else {}

    def _kube_proxy(self) -> None:
        config = self.folder / "kube-proxy.yaml"
        config.write_text(yaml.safe_dump({
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration", "mode": "iptables",
            "clusterCIDR": CLUSTER_CIDR, "hostnameOverride": self.name,
            "bindAddress": NODE_IP, "healthzBindAddress": "127.0.0.1:10256",
            "metricsBindAddress": "127.0.0.1:10249",
            # A network namespace's conntrack table is the host's: never resized here.
            "conntrack": {"maxPerCore": 0, "min": 0},
            "clientConnection": {"kubeconfig": str(self.kubeconfig("kube-proxy", "admin"))}}))
        self.start_in_node("kube-proxy", [self.binaries.kube_proxy, "--config", str(config)],
                    lambda: self.in_node_get("http://127.0.0.1:10256/healthz"))

    def in_node_get(self, url: str) -> bool:
        done = subprocess.run(self.in_node(sys.executable, "-c",
                                           "import sys, urllib.request as u; "
                                           f"u.urlopen({url!r}, timeout=2)"),
                              capture_output=True, timeout=10)
        return done.returncode == 0

    def _kubernetes_endpoints(self) -> None:
        """The `kubernetes` Service's endpoint: the API server as the node reaches it
        (the control plane runs with --endpoint-reconciler-type none)."""
        path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
        self.api(f"{path}/kubernetes", "DELETE")
        self.api(path, "POST", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kubernetes", "labels": {
                "kubernetes.io/service-name": "kubernetes",
                "endpointslice.kubernetes.io/managed-by": "cloudgeo-tests"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": API_PORT, "protocol": "TCP"}]})

    def _coredns(self) -> None:
        corefile = self.folder / "Corefile"
        corefile.write_text(f""".:53 {{
    bind {NODE_IP}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {self.kubeconfig("coredns", "admin")} node
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
}}
""")
        self.start_in_node("coredns", [self.binaries.coredns, "-conf", str(corefile)],
                    lambda: self.in_node_get("http://127.0.0.1:8181/ready"))

    # -- stop -------------------------------------------------------------------------
    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._remove_containers()
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        self._kill_shims()
        for process in self.forwarders:
            process.stop()
        self.forwarders.clear()
        self._unmount_under(str(self.folder))
        self._remove_pod_netns()
        with contextlib.suppress(Exception):
            self._remove_cgroups()
        _run("ip", "netns", "del", self.netns_name, check=False)
        for path in self.made_paths:
            self._unmount_under(path)
            shutil.rmtree(path, ignore_errors=True)
        self._remove_shim_sockets()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _remove_containers(self) -> None:
        for task in self.ctr("tasks", "list", "-q", check=False, timeout=30).stdout.split():
            self.ctr("tasks", "kill", "-s", "SIGKILL", task, check=False, timeout=30)
        time.sleep(0.5)
        for task in self.ctr("tasks", "list", "-q", check=False, timeout=30).stdout.split():
            self.ctr("tasks", "delete", "-f", task, check=False, timeout=30)

    def _kill_shims(self) -> None:
        """containerd's shims outlive it by design; ours (and what they run) go too."""
        mark = str(self.socket).encode()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                argv = cmdline.read_bytes()
                if b"containerd-shim" in argv and mark in argv:
                    pid = int(cmdline.parent.name)
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(os.getpgid(pid), signal.SIGKILL)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    @staticmethod
    def _unmount_under(prefix: str) -> None:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m == prefix or m.startswith(prefix + "/")),
                            reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True)

    def _remove_shim_sockets(self) -> None:
        """Our shims' sockets (a killed shim leaves its own); another containerd's
        (Docker's) are in use and stay."""
        if not SHIM_SOCKETS.exists():
            return
        in_use = Path("/proc/net/unix").read_text()
        for socket in set(SHIM_SOCKETS.iterdir()) - self.sockets_before:
            if str(socket) not in in_use:
                socket.unlink(missing_ok=True)

    def _remove_pod_netns(self) -> None:
        """The pods' network namespaces containerd made under /run/netns (cni-...)."""
        if not Path("/run/netns").exists():
            return
        for name in set(os.listdir("/run/netns")) - self.netns_before:
            if name.startswith("cni-"):
                _run("ip", "netns", "del", name, check=False)

    def _remove_cgroups(self) -> None:
        for hierarchy in self._hierarchies():
            own = hierarchy / self.cgroup_root
            if not own.exists():
                continue
            for folder in sorted((p for p in own.rglob("*") if p.is_dir()),
                                 key=lambda p: len(p.parts), reverse=True):
                _kill_cgroup_members(folder)
                with contextlib.suppress(OSError):
                    folder.rmdir()
            _kill_cgroup_members(own)
            with contextlib.suppress(OSError):
                own.rmdir()


def oci_image(archive: Path, name: str, files: dict[str, str], entrypoint: list[str],
              user: str = "65535:65535") -> Path:
    """An OCI image archive of one layer holding `files` (path in the image -> host
    file), for `ctr images import`: images a test needs without a registry or Docker."""
    def blob(data: bytes, media_type: str) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        blobs[f"blobs/sha256/{digest}"] = data
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    blobs: dict[str, bytes] = {}
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for inside, host in files.items():
            tar.add(host, arcname=inside.lstrip("/"))
    layer_bytes = layer.getvalue()
    diff_id = f"sha256:{hashlib.sha256(layer_bytes).hexdigest()}"
    config = blob(json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": entrypoint, "User": user},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode(),
        "application/vnd.oci.image.config.v1+json")
    manifest = blob(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": [blob(layer_bytes, "application/vnd.oci.image.layer.v1.tar")]}).encode(),
        "application/vnd.oci.image.manifest.v1+json")
    manifest["annotations"] = {"io.containerd.image.name": name,
                               "org.opencontainers.image.ref.name": name}
    blobs["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [manifest]}).encode()
    blobs["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
    with tarfile.open(archive, "w") as tar:
        for path, data in blobs.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def pause_image(archive: Path) -> Path:
    """The pod sandbox's process: Debian's static catatonit in pause mode (podman's
    pause process), as no registry's pause image can be pulled."""
    return oci_image(archive, PAUSE_IMAGE, {"/catatonit": "/usr/bin/catatonit"},
                     ["/catatonit", "-P"])


def busybox_image(archive: Path) -> Path:
    """Debian's static busybox (sh, wget, nslookup, httpd): the node's own smoke test."""
    return oci_image(archive, BUSYBOX_IMAGE, {"/bin/busybox": "/bin/busybox"},
                     ["/bin/busybox"])


def _kill_cgroup_members(folder: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in (folder / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    time.sleep(0.05)
