"""One module per dashboard page; :data:`PAGE_SPECS` says how each page is built."""

from __future__ import annotations

from workbench.dashboards.format import codes, label
from workbench.dashboards.pages.by_name_list import by_name_list_panels
from workbench.dashboards.pages.data_quality import SOURCES, data_quality_panels
from workbench.dashboards.pages.district_benchmarking import BENCHMARK_MEASURES, benchmarking_panels
from workbench.dashboards.pages.duties import DUTIES, duties_panels
from workbench.dashboards.pages.equality import OUTCOMES, equality_panels
from workbench.dashboards.pages.housing_first import housing_first_panels
from workbench.dashboards.pages.joins import HANDOVERS, joins_panels
from workbench.dashboards.pages.new_arrivals import ARRIVAL_GROUPS, arrivals_panels
from workbench.dashboards.pages.overview import overview_panels
from workbench.dashboards.pages.pathways import pathways_panels
from workbench.dashboards.pages.returns import RETURNS_GROUPS, returns_panels
from workbench.dashboards.pages.supported_housing import supported_panels

#: Each page: its title, introduction, the function that builds its panels and its filters.
PAGE_SPECS: dict[str, dict] = {
    "overview": dict(title="Homelessness in Oxfordshire: overview",
                     intro="The main measures of the Housing Led system, for a district and a period you choose.",
                     build=overview_panels),
    "returns": dict(title="Returns to homelessness",
                    intro="How many people were homeless again after moving into a settled home.",
                    build=returns_panels, group_options=[(k, v) for k, v in RETURNS_GROUPS],
                    group_label="Compare by", default_group="tenure"),
    "new_arrivals": dict(title="New arrivals on the streets",
                         intro="People seen sleeping rough for the first time in five years, and their earlier contact with services.",
                         build=arrivals_panels, group_options=[(k, v) for k, v in ARRIVAL_GROUPS],
                         group_label="Describe by", default_group="age_band"),
    "supported_housing": dict(title="Supported housing outcomes",
                              intro="How stays in supported accommodation ended and what happened next.",
                              build=supported_panels,
                              group_options=[("All types of service", "")] + [(label("accommodation_model", m), m) for m in codes("accommodation_model")],
                              group_label="Type of service"),
    "district_benchmarking": dict(title="District benchmarking",
                                  intro="The five districts compared fairly, allowing for their size.",
                                  build=benchmarking_panels, district=False,
                                  group_options=[(k, v) for k, v in BENCHMARK_MEASURES],
                                  group_label="Measure", default_group="prevention"),
    "by_name_list": dict(title="By Name List",
                         intro="People known to be homeless: how many joined and left the list, and how many were on it.",
                         build=by_name_list_panels),
    "housing_first": dict(title="Housing First",
                          intro="Housing First tenancies started, and how many tenants kept their home, against England's pilots.",
                          build=housing_first_panels),
    "pathways": dict(title="Pathways between services",
                     intro="How people moved between the street, council help, supported accommodation and settled homes, and back.",
                     build=pathways_panels),
    "duties": dict(title="Duties closed without an outcome",
                   intro="Prevention and relief duties that ended without an outcome (strategy action 3.3): how many, why, where and what goes with it.",
                   build=duties_panels, group_options=[(k, v) for k, v in DUTIES], group_label="Duty",
                   default_group="prevention"),
    "equality": dict(title="Equality of outcomes",
                     intro="Outcomes by age, gender, ethnic group, disability and sexual orientation, compared with the largest group (strategy action 7.1), and how often each is recorded.",
                     build=equality_panels, group_options=[(k, v) for k, v in OUTCOMES], group_label="Outcome",
                     default_group="prevention_success"),
    "data_quality": dict(title="Data quality scorecard",
                         intro="How complete, duplicated, up to date and valid each source's records are, so the figures on the other pages can be read with care.",
                         build=data_quality_panels, group_options=[(k, v) for k, v in SOURCES], group_label="Source"),
    "joins": dict(title="Handovers between services",
                  intro="How long people wait between services: leaving hospital or prison, or the street, to accommodation; supported accommodation to a settled home; a duty to its end.",
                  build=joins_panels, group_options=[(k, v) for k, v in HANDOVERS], group_label="Handover",
                  default_group="hospital_discharge_to_accommodation"),
}
