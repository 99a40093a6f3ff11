# Loaded as `sitecustomize` by a moto server that `Moto::start_lean` starts
# (crates/testkit/src/moto.rs): every KMS key moto 5.2 creates gets an
# RSA-2048 key pair, a symmetric key too, which costs about 100 ms of CPU
# per CreateKey (measured: 80-113 ms, against 2-5 ms for the calls around
# it). A key pair is only ever used by Sign, Verify and GetPublicKey, and
# only an asymmetric key allows those, so for symmetric and HMAC keys the
# pair is made on first use instead of at creation. Every answer stays
# moto's own; asymmetric keys are made as before.
import threading

try:
    from moto.kms import models as _kms_models
except ImportError:  # not a moto process: nothing to change
    _kms_models = None

if _kms_models is not None:
    _make_pair = _kms_models.generate_private_key
    _making = threading.Lock()

    class _PairOnFirstUse:
        def __init__(self, key_spec):
            self._key_spec = key_spec
            self._pair = None

        def _made(self):
            with _making:
                if self._pair is None:
                    self._pair = _make_pair(self._key_spec)
            return self._pair

        def sign(self, *args, **kwargs):
            return self._made().sign(*args, **kwargs)

        def verify(self, *args, **kwargs):
            return self._made().verify(*args, **kwargs)

        def public_key(self, *args, **kwargs):
            return self._made().public_key(*args, **kwargs)

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            return getattr(self._made(), name)

    def _pair_for(key_spec):
        if key_spec in (None, "", "SYMMETRIC_DEFAULT") or key_spec.startswith("HMAC"):
            return _PairOnFirstUse(key_spec)
        return _make_pair(key_spec)

    _kms_models.generate_private_key = _pair_for
