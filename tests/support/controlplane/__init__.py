"""A real Kubernetes control plane for the tests: etcd, kube-apiserver,
kube-controller-manager and kube-scheduler built from Go modules (tools/controlplane),
kubectl and helm, a PKI made per run, and a node agent (a test double of a kubelet)."""
