"""The agent console: what an agent's web console shows (the session, the call's contact with
the campaign's script and CRM form, the disposition still to record) and the commands it sends
to the Stasis app (manual dial, hold, transfer, conference) as ARI user events. Flask-free and
asyncio-free: the web UI and the Stasis app's writer thread call the same checks."""
