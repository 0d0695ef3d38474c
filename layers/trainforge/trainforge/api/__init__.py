"""The REST API, built from Powertools Routers by resource, behind one door and one error envelope."""
