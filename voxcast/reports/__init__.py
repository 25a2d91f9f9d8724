"""Reports (issue 13): every figure a tenant's supervisors read, scoped to the tenant and
shown in the viewer's time zone. `period` turns local dates into the UTC bounds the tables
hold; rollups and counters keep large tenants' figures fast."""
