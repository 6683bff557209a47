"""`cloudgeo`: run a local CloudGeo cluster (up, down, status, logs) and its walkthrough."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cloudgeo.gateway.config import AUTH_MODES, DEFAULT_USER_HEADER
from cloudgeo.localcluster.cluster import Cluster, ClusterAccess, ClusterError, ClusterPorts

STATE_VARIABLE, DEFAULT_STATE = "CLOUDGEO_CLUSTER_DIR", ".state/cluster"


def _ports(args: argparse.Namespace) -> ClusterPorts:
    return ClusterPorts(gateway=args.gateway_port, gateway_metrics=args.gateway_metrics_port,
                        file_service=args.file_port, first_node=args.node_port,
                        redis=args.redis_port, s3=args.s3_port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cloudgeo", description=__doc__)
    # Read when the command runs, never at import.
    state = os.environ.get(STATE_VARIABLE) or DEFAULT_STATE
    parser.add_argument("--state", default=state,
                        help=f"folder for the cluster's state, logs and pids ({state}; "
                             f"{STATE_VARIABLE} sets another)")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start Redis, SeaweedFS, the file service, the "
                                        "gateway and N WPS nodes on 127.0.0.1")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--qgis-workers", type=int, default=2, help="QGIS workers per node")
    defaults = ClusterPorts()
    up.add_argument("--gateway-port", type=int, default=defaults.gateway)
    up.add_argument("--gateway-metrics-port", type=int, default=defaults.gateway_metrics)
    up.add_argument("--file-port", type=int, default=defaults.file_service)
    up.add_argument("--node-port", type=int, default=defaults.first_node,
                    help="port of the first node; the others follow")
    up.add_argument("--redis-port", type=int, default=defaults.redis)
    up.add_argument("--s3-port", type=int, default=defaults.s3)
    up.add_argument("--auth", choices=AUTH_MODES, default="none",
                    help="authentication at the gateway (default none)")
    up.add_argument("--htpasswd", default="", help="--auth basic: an htpasswd file")
    up.add_argument("--forward-auth-url", default="",
                    help="--auth forward: the identity proxy's auth URL (e.g. oauth2-proxy's "
                         "/oauth2/auth)")
    up.add_argument("--user-header", default=DEFAULT_USER_HEADER,
                    help="header carrying the user id (forward auth: the proxy's, e.g. "
                         "X-Auth-Request-User)")
    up.add_argument("--admins", default="", help="comma-separated user ids that see all jobs")
    commands.add_parser("down", help="stop everything `up` started")
    restart = commands.add_parser("restart", help="start a stopped or crashed service again")
    restart.add_argument("component", help="e.g. wps-node-2, file-service")
    status = commands.add_parser("status", help="each component's health")
    status.add_argument("--json", action="store_true")
    logs = commands.add_parser("logs", help="the end of a component's log")
    logs.add_argument("component", nargs="?", help="e.g. gateway, wps-node-1 (all if omitted)")
    logs.add_argument("-n", "--lines", type=int, default=40)
    walk = commands.add_parser("walkthrough", help="upload, buffer, BandMath and download, "
                                                   "through the gateway")
    walk.add_argument("--gateway", default=None, help="gateway URL (the running cluster's)")
    args = parser.parse_args(argv)

    cluster = Cluster(Path(args.state))
    try:
        if args.command == "up":
            print(f"starting CloudGeo with {args.nodes} WPS nodes (state in {cluster.dir})")
            access = ClusterAccess(args.auth, str(Path(args.htpasswd).resolve())
                                   if args.htpasswd else "", args.forward_auth_url,
                                   args.user_header,
                                   tuple(a for a in args.admins.split(",") if a))
            state = cluster.up(args.nodes, _ports(args), args.qgis_workers, access)
            print(f"CloudGeo is up: gateway {state.gateway_url}\n"
                  f"  {state.gateway_url}/api/wps/processes\n"
                  f"  {state.gateway_url}/api/file/upload (PUT, multipart field 'file')\n"
                  "`cloudgeo status`, `cloudgeo logs`, `cloudgeo down`")
        elif args.command == "down":
            stopped = cluster.down()
            print("stopped: " + ", ".join(stopped) if stopped else "nothing was running")
        elif args.command == "restart":
            cluster.restart(args.component)
        elif args.command == "status":
            report = cluster.status()
            if args.json:
                print(json.dumps(report, indent=2))
            elif not report["running"]:
                print("CloudGeo is not running")
            else:
                print(f"gateway {report['gateway']}, {report['nodes']} nodes")
                for name, health in report["components"].items():
                    print(f"  {name:16s} {health}")
            return 0 if report["running"] else 3
        elif args.command == "logs":
            state_names = [args.component] if args.component else [
                name for name in cluster.status()["components"]]
            for name in state_names:
                lines = cluster.log_path(name).read_text(errors="replace").splitlines()
                print(f"==> {name} <==")
                print("\n".join(lines[-args.lines:]))
        elif args.command == "walkthrough":
            from cloudgeo.localcluster.walkthrough import run

            gateway = args.gateway or cluster.status().get("gateway")
            if not gateway:
                raise ClusterError("no cluster is running here: `cloudgeo up` first, or "
                                   "give --gateway")
            run(gateway, cluster.dir / "walkthrough")
    except ClusterError as exc:
        print(f"cloudgeo: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
