"""Print, as one JSON line, every object under a customer's three prefixes (key -> [ETag, size, sha256 of the
bytes]) and its registry and audit log bytes' hashes, reading S3 where the environment says
(AWS_ENDPOINT_URL_S3, OUTPUT_BUCKET, the sandbox's keys). Used by the real-REPL readiness test inside its
network namespace: once before Zorora starts, once after it exits.

    python dump_customer.py CUSTOMER
"""

import hashlib
import json
import os
import sys

import boto3

customer = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"], region_name=os.environ["AWS_REGION"])
bucket = os.environ["OUTPUT_BUCKET"]
objects = {}
for top in ("customer_tailored/", "model_metrics/", "audit_logs/"):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{top}{customer}/"):
        for obj in page.get("Contents", ()):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            objects[obj["Key"]] = [obj["ETag"], obj["Size"], hashlib.sha256(body).hexdigest()]
print(json.dumps(objects, sort_keys=True))
