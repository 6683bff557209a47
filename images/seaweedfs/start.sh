#!/bin/sh
# SeaweedFS's S3 server keyed with the cluster's generated credentials (S3_ACCESS_KEY,
# S3_SECRET_KEY from the operator's Secret): the identity file is written where only
# this container reads it (/tmp, an emptyDir; the root filesystem is read-only).
set -eu
: "${S3_ACCESS_KEY:?the S3 access key is not set}"
: "${S3_SECRET_KEY:?the S3 secret key is not set}"
umask 077
printf '{"identities": [{"name": "cloudgeo", "credentials": [{"accessKey": "%s", "secretKey": "%s"}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}\n' \
    "$S3_ACCESS_KEY" "$S3_SECRET_KEY" > /tmp/s3.json
# Master, volume and filer talk over loopback inside the pod; S3 on every interface.
exec weed mini -dir=/data -ip=127.0.0.1 -ip.bind=0.0.0.0 -s3.port=8333 \
    -s3.config=/tmp/s3.json -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
    -master.telemetry=false -admin.ui=false
