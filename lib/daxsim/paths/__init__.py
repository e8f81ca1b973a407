"""The I/O paths: the design registry (:mod:`~daxsim.paths.registry`), the event loop
every option shares (``loop.py``), one module per option (submit / complete / busy), and
what they share (:mod:`~daxsim.paths.common`, :mod:`~daxsim.paths.state`,
:mod:`~daxsim.paths.writeback`)."""
