"""The messaging edge: one asyncio process (`voxcast messaging`) that sends SMS over SMPP and
e-mail over SMTP for the campaigns, and takes receipts, inbound SMS and bounces."""
