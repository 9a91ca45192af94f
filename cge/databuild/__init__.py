"""The build pipeline of the shipped data sets (``make data``): WIOD 2011 aggregation
(:mod:`~cge.databuild.wiod`), the 2024 update by minimum cross-entropy balancing
(:mod:`~cge.databuild.update`, :mod:`~cge.databuild.balance`), the policy tables and base-year
tariffs (:mod:`~cge.databuild.policy`), the default data set (:mod:`~cge.databuild.default2024`)
and the staged rebuild of all of them (:mod:`~cge.databuild.build`). The benchmark format and its
readers live in :mod:`cge.data`."""
