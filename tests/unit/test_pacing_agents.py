"""Voice Agent pacing: lines = floor(ratio x ready agents) - calls still looking for an agent."""
from decimal import Decimal

import pytest

from voxcast.dialing.pacing import agent_lines, free_slots


@pytest.mark.parametrize("ratio, ready, live, expected", [
    (1.0, 0, 0, 0),            # nobody ready: nothing dialled
    (1.0, 1, 0, 1),
    (1.0, 1, 1, 0),            # the one line is in use
    (1.5, 3, 0, 4),            # floor(4.5)
    (1.5, 3, 2, 2),
    (3.0, 2, 1, 5),
    (2.0, 4, 9, 0),            # more calls in the air than lines: never negative
    ("1.15", 20, 0, 23),       # decimal: floats would give 22.999... -> 22
    (Decimal("2.30"), 3, 0, 6),
])
def test_agent_lines(ratio, ready, live, expected):
    assert agent_lines(ratio, ready, live) == expected


@pytest.mark.parametrize("ratio, expected", [(0.2, 2), (0, 2), (9.5, 6), (-1, 2)])
def test_ratio_is_clamped_to_one_to_three(ratio, expected):
    assert agent_lines(ratio, 2, 0) == expected


def test_negative_inputs_count_as_zero():
    assert agent_lines(2.0, -3, 0) == 0
    assert agent_lines(1.0, 2, -5) == 2


def test_channel_limits_still_cap_agent_lines():
    """The dialer takes the smaller of the agent lines and the usual channel headroom."""
    lines = agent_lines(3.0, 10, 0)
    assert min(lines, free_slots(5, 0, 100, 0, 100, 0)) == 5
