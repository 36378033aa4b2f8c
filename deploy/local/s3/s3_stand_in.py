"""moto's S3 server standing in for MinIO in deploy/docker-compose.local.yml.

`serve` (the `minio` service): moto with authentication on from the first request (the gate of
`moto_s3_server.py` also makes presigned URLs work), with an IAM user whose access key is the
one the platform is configured with (APP_ACCESS_KEY / APP_SECRET_KEY, as `minio-setup` creates
it on MinIO) and the bucket (BUCKET). moto generates keys itself, so the key is re-keyed in its
IAM back-end before the server accepts a connection.

`check` (the `minio-setup` one-shot): proves the app key works and sees the bucket, the
condition the services wait for (`service_completed_successfully`).

Everything is in memory: restarting `minio` empties the bucket (it is a stand-in for one machine).
"""

from __future__ import annotations

import json
import os
import sys
import time

REGION = "us-east-1"
USER_NAME = "modelbay"
S3_FULL_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def seed(access_key: str, secret_key: str, bucket: str) -> None:
    """An IAM user with S3 rights whose only key is (access_key, secret_key); the bucket."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends

    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    iam.create_user(region_name=REGION, user_name=USER_NAME, path="/", tags=[])
    iam.put_user_policy(USER_NAME, "s3-full-access", json.dumps(S3_FULL_ACCESS))
    key = iam.create_access_key(USER_NAME)
    del iam.access_keys[key.access_key_id]
    key.access_key_id, key.secret_access_key = access_key, secret_key
    iam.access_keys[access_key] = key
    s3_backends[DEFAULT_ACCOUNT_ID]["aws"].create_bucket(bucket, REGION)


def serve(port: int) -> None:
    # moto reads this when it is imported: every request is authenticated from the first one.
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    os.environ.setdefault("MOTO_PORT", str(port))
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto_s3_server import PresignedUrlGate
    from werkzeug.serving import run_simple

    seed(os.environ["APP_ACCESS_KEY"], os.environ["APP_SECRET_KEY"], os.environ["BUCKET"])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "0.0.0.0", port, PresignedUrlGate(app), threaded=True, request_handler=MotoRequestHandler
    )


def check(endpoint: str, bound_seconds: float = 60.0) -> None:
    import boto3  # type: ignore[import-untyped]  # moto's own dependency, no stubs here
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=os.environ["APP_ACCESS_KEY"],
        aws_secret_access_key=os.environ["APP_SECRET_KEY"],
        region_name=REGION,
    )
    deadline = time.monotonic() + bound_seconds
    while True:
        try:
            client.head_bucket(Bucket=os.environ["BUCKET"])
            print(f"bucket {os.environ['BUCKET']} answers with the app key")
            return
        except (BotoCoreError, ClientError) as error:
            if time.monotonic() > deadline:
                sys.exit(f"the S3 stand-in at {endpoint} refused the app key: {error}")
            time.sleep(1)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "serve":
        serve(int(os.environ.get("S3_PORT", "9000")))
    elif command == "check":
        check(sys.argv[2] if len(sys.argv) > 2 else "http://minio:9000")
    else:
        sys.exit(f"usage: {sys.argv[0]} serve | check [ENDPOINT]")
