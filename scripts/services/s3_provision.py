"""Provision the moto S3 server for Modelbay: an IAM user, its access key, and the bucket.

moto checks S3 signatures against the access keys of its in-memory IAM users once
INITIAL_NO_AUTH_ACTION_COUNT requests have been served (moto/core/authorization.py); the server is
started with the count at 0, so every request is authenticated from the first one. To create the
first user it briefly lifts the check through moto's own control endpoint (/moto-api/reset-auth),
makes the user, key, policy and bucket through the ordinary AWS APIs, and puts the check back.
It then proves the result with the minio SDK (the client the platform uses): the new key works,
an unknown key and a wrong secret are refused, a presigned GET works (see moto_s3_server.py) and
a tampered or anonymous one is refused.

Idempotent: when the credentials in the state file still work (moto was not restarted), nothing is
changed. moto keeps everything in memory, so a restarted server gets a new key and an empty bucket.

Usage: python s3_provision.py ENDPOINT BUCKET STATE_FILE
Writes STATE_FILE as KEY=VALUE lines (MODELBAY_S3_* and MODELBAY_BLOB_URL).
"""

from __future__ import annotations

import io
import json
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import boto3  # type: ignore[import-untyped]  # no stubs in the lock; used for IAM only
from minio import Minio
from minio.error import S3Error

REGION = "us-east-1"
USER_NAME = "modelbay"
S3_FULL_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def read_state(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def minio_client(endpoint: str, access_key: str, secret_key: str) -> Minio:
    return Minio(
        endpoint, access_key=access_key, secret_key=secret_key, secure=False, region=REGION
    )


def credentials_work(endpoint: str, bucket: str, access_key: str, secret_key: str) -> bool:
    try:
        return bool(minio_client(endpoint, access_key, secret_key).bucket_exists(bucket))
    except S3Error:
        return False


def set_auth_free_requests(endpoint: str, count: str) -> None:
    """moto's control endpoint: how many requests may pass unauthenticated ("inf" or "0")."""
    # Not form-encoded: werkzeug would parse a form body away and moto reads the raw body.
    request = urllib.request.Request(
        f"http://{endpoint}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        json.load(response)


def create_user_key_and_bucket(endpoint: str, bucket: str) -> tuple[str, str]:
    # With auth lifted moto accepts any key, so these bootstrap values are never checked.
    session = boto3.session.Session(
        aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap", region_name=REGION
    )
    iam = session.client("iam", endpoint_url=f"http://{endpoint}")
    existing = {user["UserName"] for user in iam.list_users()["Users"]}
    if USER_NAME not in existing:
        iam.create_user(UserName=USER_NAME)
    iam.put_user_policy(
        UserName=USER_NAME, PolicyName="s3-full-access", PolicyDocument=json.dumps(S3_FULL_ACCESS)
    )
    key = iam.create_access_key(UserName=USER_NAME)["AccessKey"]
    s3 = session.client("s3", endpoint_url=f"http://{endpoint}")
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    return key["AccessKeyId"], key["SecretAccessKey"]


def assert_refused(endpoint: str, bucket: str, access_key: str, secret_key: str, why: str) -> None:
    try:
        minio_client(endpoint, access_key, secret_key).bucket_exists(bucket)
    except S3Error as error:
        if error.code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}:
            return
        raise
    sys.exit(f"S3 (moto): {why} was accepted: authentication is not on")


def http_status(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def verify_presigned_urls(client: Minio, endpoint: str, bucket: str) -> None:
    """Presigned GETs work, a tampered one and an anonymous GET are refused (moto_s3_server)."""
    probe = "_modelbay/services-up-probe"
    client.put_object(bucket, probe, io.BytesIO(b"probe"), 5)
    try:
        url = client.presigned_get_object(bucket, probe, expires=timedelta(minutes=1))
        if http_status(url) != (200, b"probe"):
            sys.exit("S3 (moto): a presigned GET failed; see var/log/moto.log")
        tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        for what, target in (
            ("tampered presigned", tampered),
            ("anonymous", f"http://{endpoint}/{bucket}/{probe}"),
        ):
            if http_status(target)[0] != 403:
                sys.exit(f"S3 (moto): a {what} GET was not refused with 403")
    finally:
        client.remove_object(bucket, probe)


def verify(endpoint: str, bucket: str, access_key: str, secret_key: str) -> None:
    if not credentials_work(endpoint, bucket, access_key, secret_key):
        sys.exit(f"S3 (moto): the new key cannot see bucket {bucket}; see var/log/moto.log")
    assert_refused(endpoint, bucket, "AKIAUNKNOWNKEY000000", secret_key, "an unknown access key")
    assert_refused(endpoint, bucket, access_key, secret_key + "x", "a wrong secret key")
    verify_presigned_urls(minio_client(endpoint, access_key, secret_key), endpoint, bucket)


def write_state(path: Path, endpoint: str, bucket: str, access_key: str, secret_key: str) -> None:
    # moto secrets contain "/" and "+", so the URL form carries them percent-encoded.
    blob_url = (
        f"s3://{quote(access_key, safe='')}:{quote(secret_key, safe='')}@{endpoint}/{bucket}"
        f"?secure=false&region={REGION}"
    )
    lines = {
        "MODELBAY_S3_ENDPOINT": endpoint,
        "MODELBAY_S3_ACCESS_KEY": access_key,
        "MODELBAY_S3_SECRET_KEY": secret_key,
        "MODELBAY_S3_BUCKET": bucket,
        "MODELBAY_S3_REGION": REGION,
        "MODELBAY_S3_SECURE": "false",
        "MODELBAY_BLOB_URL": blob_url,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{key}={value}\n" for key, value in lines.items()))
    tmp.replace(path)


def main(endpoint: str, bucket: str, state_file: str) -> None:
    state_path = Path(state_file)
    state = read_state(state_path)
    access_key = state.get("MODELBAY_S3_ACCESS_KEY", "")
    secret_key = state.get("MODELBAY_S3_SECRET_KEY", "")
    if access_key and credentials_work(endpoint, bucket, access_key, secret_key):
        return
    set_auth_free_requests(endpoint, "inf")
    try:
        access_key, secret_key = create_user_key_and_bucket(endpoint, bucket)
    finally:
        set_auth_free_requests(endpoint, "0")
    verify(endpoint, bucket, access_key, secret_key)
    write_state(state_path, endpoint, bucket, access_key, secret_key)
    print(f"==> S3 (moto): new access key {access_key} for bucket {bucket}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
