#!/usr/bin/env bash
# Makes the certificates the egress tests use, in the directory given as $1:
#   cloud-ca.pem            stands in for the public CAs (the gateway's CA bundle in the tests)
#   cloud.pem, cloud.key    the stand-in's certificate for the Alibaba Cloud names below
#   rogue-ca.pem            a CA the gateway does not trust
#   rogue.pem, rogue.key    a certificate for the same names from that CA
#   org-ca.pem              the organisation's internal CA (clients trust it in intercept mode)
#   gateway.pem, gateway.key  the gateway's certificate for the Alibaba Cloud names, from org-ca
# Region wildcards: a '*' covers one label only, so ecs.cn-hangzhou.aliyuncs.com needs
# *.cn-hangzhou.aliyuncs.com, and an OSS bucket's host *.oss-cn-hangzhou.aliyuncs.com.
set -euo pipefail
out=${1:?usage: make-certs.sh OUT_DIR}
mkdir -p "$out"
cd "$out"

regions=(cn-hangzhou cn-shanghai cn-beijing ap-southeast-1)
san="DNS:*.aliyuncs.com"
for region in "${regions[@]}"; do
  # OSS buckets are <bucket>.oss-<region>.aliyuncs.com (and -internal).
  san="$san,DNS:*.$region.aliyuncs.com,DNS:*.oss-$region.aliyuncs.com"
done

ca() { # name, subject
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$2" -keyout "$1-ca.key" -out "$1-ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() { # name, issuer, subject, subjectAltName
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$3" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$2-ca.pem" -CAkey "$2-ca.key" -CAcreateserial \
    -days 30 -out "$1.pem" -extfile <(printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=$4") 2>/dev/null
  rm -f "$1.csr"
}

ca cloud "akguard test public CA"
ca rogue "akguard test untrusted CA"
ca org "Example Org egress CA"
leaf cloud cloud "aliyuncs.com" "$san"
leaf rogue rogue "aliyuncs.com" "$san"
leaf gateway org "aliyuncs.com" "$san"
