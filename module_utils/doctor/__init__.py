# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor (otel_doctor): evidence from the VM (probe, evidence) -> what it means (classify)
-> one verdict (verdict), in the words of lab.vocabulary.
"""
