"""cinder-lab: OpenStack Cinder's RPC routing, small enough to read in one sitting."""

import warnings

# oslo.messaging imports oslo.service's eventlet backend, which warns on import;
# the lab uses the threading executor only.
warnings.filterwarnings("ignore", message=r"(?s)\s*eventlet is deprecated")
warnings.filterwarnings("ignore", message=".*executor.*deprecated.*")
# oslo.versionedobjects warns (FutureWarning, three raw lines on stderr) when a UUID field
# is given a non-UUID, such as an id a learner typed; the lab's lookups answer that
# "could not be found" in one line of their own.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"oslo_versionedobjects\.")
