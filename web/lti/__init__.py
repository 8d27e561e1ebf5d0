"""LTI 1.3 tool: OIDC third-party login, resource and deep-linking launches, AGS scores."""
