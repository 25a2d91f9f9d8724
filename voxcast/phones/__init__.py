"""Calls that tenants' phones place: where a dialled number goes (routing), what the feature
codes do (features). Decisions only; the FastAGI server (agi/) and the Stasis app
(ari_app/flows/phone_out.py) carry them out."""
