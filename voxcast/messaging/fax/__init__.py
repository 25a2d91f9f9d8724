"""Fax: documents uploaded and converted for SendFAX (documents, convert), the record of each
send attempt and of each received fax (records). The calls themselves run in the Stasis app
(ari_app.flows.fax_send, ari_app.flows.fax_receive) and the dialplan's fax section."""
