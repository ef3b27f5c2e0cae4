"""Securing mechanisms: VC-JOSE-COSE (``vc_jwt``, Loire) and JsonWebSignature2020 (``jws2020``, Tagus)."""
