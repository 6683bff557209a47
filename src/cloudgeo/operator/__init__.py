"""The GeoProcessingCluster operator: CRD, pure builders (spec -> manifests), kopf handlers.

Named `cloudgeo.operator`, never `operator` at import root, which would shadow the
standard library module.
"""
