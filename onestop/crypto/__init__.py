"""Keys, the ``Signer`` seam, COSE_Sign1, the province trust list and receipt verification.

Import from the submodules (``onestop.crypto.verify``, ``.keys``, ``.trust``...); this package
deliberately re-exports nothing so that importing it stays cheap.
"""
