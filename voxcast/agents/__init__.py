"""Agents of the contact centre: sessions (one login bound to the agent's extension), states
changed by compare-and-set with every state stored in the state log, the offer / answer /
missed / wrap-up steps the Stasis app drives, the disposition form, time-in-state figures, and
the tenant's pause reasons and dispositions. Flask-free and asyncio-free: the web UI, the JSON
API, the FastAGI feature codes and the Stasis app's writer thread call the same functions."""
