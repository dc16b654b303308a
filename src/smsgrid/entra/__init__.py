"""An offline Microsoft Entra ID issuer (docs/entra.md): OpenID discovery, a JWKS and a client-credentials token
endpoint on smsgrid's own listeners, so `azure-identity` credentials get tokens the data plane accepts.

`keys` (the RSA signing key in the data dir), `tokens` (claims, signing, verification: pure), `errors` (Entra's
AADSTS error shape), `issuer` (one server's issuer), `routes` (its HTTP endpoints).
"""

from smsgrid.entra.issuer import COMMUNICATION_AUDIENCE, EVENT_GRID_AUDIENCE, EntraIssuer

__all__ = ["COMMUNICATION_AUDIENCE", "EVENT_GRID_AUDIENCE", "EntraIssuer"]
