"""Agent evaluation (quality monitoring): tenants and supervisors build forms of weighted
questions in sections, score an agent's recorded call against one, and read the scores per
agent, form and period. `scoring` is the pure arithmetic; `forms`, `evaluations` and
`summary` are the services the portal and the API share."""
