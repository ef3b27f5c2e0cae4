"""A development trust anchor for one-machine data spaces (``gxc trust``): what GXDCH and a federation provide.

It holds the data space's development certificate authority (root -> intermediate, issuing every participant's x5u
leaf certificate), and runs three issuers, each with its own did:web under the service's URL:

- ``notary``: issues registration-number credentials (``gx:VatID``, ``gx:LeiCode``, ...) as the Gaia-X lab notary
  does, after a format check (a real notary asks VIES/GLEIF; there is no network here);
- ``compliance``: runs the full GXDCH check (:func:`self_descriptions.compliance.check_compliance`) over a
  participant's VP-JWT and issues a ``gx:LabelCredential`` binding the covered credentials by digest;
- ``federation``: the federation operator, issuing ``MembershipCredential`` to admitted participants.

Each issuer can revoke or suspend what it issued: every credential carries W3C Bitstring Status List v1.0 entries
into the issuer's lists, served signed at ``/<role>/status/revocation`` and ``/<role>/status/suspension``
(:mod:`.status`; ``gxc trust revoke | suspend | unsuspend | credentials``).

Never use it in production: its keys live in a local folder and it trusts whatever the operator key asks for.
"""
