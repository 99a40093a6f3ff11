# Loaded as `sitecustomize` by a moto server that `Moto::start_enforcing`
# starts (crates/testkit/src/moto.rs), for the least-privilege test: with
# IAM enforcement on, moto 5.2.5 checks each request's SigV4 signature
# before its permissions, and computes the signature of REST requests
# without a body wrongly (API Gateway's GetAccount and Lambda's
# ListFunctions are refused with SignatureDoesNotMatch when botocore
# itself signs them). That check is turned off; the permission check,
# which is what the test is about, is moto's own.
try:
    from moto.iam import access_control as _access_control
except ImportError:  # not a moto process: nothing to change
    _access_control = None

if _access_control is not None:
    _access_control.IAMRequestBase.check_signature = lambda self: None
