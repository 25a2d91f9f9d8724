"""Call records: opening, answering and closing CDRs, and what a hang-up cause means."""
