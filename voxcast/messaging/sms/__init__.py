"""SMS logic without I/O: segments and encodings (GSM 03.38 / UCS-2), templates with contact
fields, delivery-receipt parsing and opt-out words. The SMPP side is messaging_app.sms."""
