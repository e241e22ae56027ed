"""cinder-lab: OpenStack Cinder's RPC routing, small enough to read in one sitting."""

import warnings

# oslo.messaging imports oslo.service's eventlet backend, which warns on import;
# the lab uses the threading executor only.
warnings.filterwarnings("ignore", message=r"(?s)\s*eventlet is deprecated")
warnings.filterwarnings("ignore", message=".*executor.*deprecated.*")
