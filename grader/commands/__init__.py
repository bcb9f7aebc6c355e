"""What each verb of ``python -m grader`` does, its printing and its exit codes: ``release``,
``validate``, ``collect``, ``autograde`` and ``report``, one module each (``grader.cli`` only parses)."""
