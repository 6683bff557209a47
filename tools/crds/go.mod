// The CustomResourceDefinitions of projects the operator and the chart make objects for,
// taken from those projects' own Go modules (tests/support/controlplane/crds.py installs
// them into the test control plane). Nothing here is built.
module cloudgeo.io/tools/crds

go 1.26

require (
	// KEDA v2.21 needs Go >= 1.27.4, newer than the approved toolchain.
	github.com/kedacore/keda/v2 v2.20.2
	github.com/prometheus-operator/prometheus-operator v0.85.0
)
