"""The real-kernel lab's results: parse the guests' serial logs, and hold daxsim's model
to what the kernel measured.

The experiments (:data:`EXPERIMENTS`) are run by ``lab/runner.py`` (``make lab``): one
guest boot each under QEMU with an emulated NVDIMM, one JSON per experiment under
``lab/results/``. The guest prints ``KL: <key> <values...>`` lines (``lab/tests/*.sh``);
:func:`parse_log` turns a serial log into a dict, :func:`ns_cost_measured` into the
measured quantities, :func:`kernel_layout` predicts them from daxsim's model plus what
the kernel adds.

The modules: :mod:`~daxsim.book.lab.logs` (the experiments and the log parser),
:mod:`~daxsim.book.lab.layout` (namespace and kmem sizes), :mod:`~daxsim.book.lab.mechanisms`
(counts per I/O, truncate against in-flight DMA, write-back); everything is importable
from here.
"""

from daxsim.book.lab.layout import *  # noqa: F403
from daxsim.book.lab.logs import *  # noqa: F403
from daxsim.book.lab.mechanisms import *  # noqa: F403
