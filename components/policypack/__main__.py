"""``pulumi preview --policy-pack components/policypack``: chorus's rules on a real preview."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from components.policies import build_policy_pack

build_policy_pack()
