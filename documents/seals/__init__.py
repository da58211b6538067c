"""Electronic seals: pure crypto and PDF functions (no database). See docs/seals.md.

ca        the 制章者 CA: X.509 (ECDSA P-256 / RSA-2048) for PAdES, SM2 certificates for GB/T 38540
keys      private keys at rest under OA_SEAL_KEK (AES-256-GCM), rotation
sm2       SM2-with-SM3 signatures (gmssl + OpenSSL SM3), key generation with secrets
image     the red round seal picture; checks for uploaded pictures
ses       GB/T 38540 SES_Seal / SES_Signature (asn1crypto)
stamping  visible PAdES signature at the renderer's seal anchor (pyHanko)
verify    验章 of both signature kinds
pdfsig    independent check with poppler pdfsig + an NSS database
"""
