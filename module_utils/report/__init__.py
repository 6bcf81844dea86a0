# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The class report (class_report): a VM's provisioning record (provision) and the report's data
(class_report).
"""
