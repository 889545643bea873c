"""``python -m medcolor`` (also what ``torchrun -m medcolor train`` runs)."""
import sys

from .cli import main

sys.exit(main())
