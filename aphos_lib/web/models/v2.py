"""The bodies of ``/api/v2``: snake_case fields, unknown numbers as ``null``."""

# No "from __future__ import annotations": pydantic reads the annotations at runtime.
import datetime as dt

from pydantic import Field

from aphos_lib.web.models import Body

__all__ = [
    "Ephemeris",
    "FluxRow",
    "FluxesPage",
    "LightCurve",
    "LightCurveRow",
    "Minima",
    "Object",
    "ObjectsPage",
    "Observer",
    "ResolvedName",
    "Timing",
    "VariableCandidate",
    "VariablesPage",
]


class Object(Body):
    """A star, named by its leading catalogue id (a search), or a catalogue object with its
    star's identifiers (one object)."""

    catalog: str
    catalog_id: str
    name: str | None
    ra_deg: float
    dec_deg: float
    mag: float | None
    bv: float | None
    jk: float | None
    n_fluxes: int
    star: int | None = Field(
        None,
        description="the star this object is (one star may carry ids of several catalogues);"
        " null for a moment after its first file, until the upload's fold links it",
    )
    identifiers: list[str] = Field(
        default_factory=list,
        description="every catalogue's name of the star, 'CATALOG ID', the leading one first",
    )
    distance_deg: float | None = Field(
        None, description="from the cone's centre; only in a cone search"
    )


class ResolvedName(Body):
    """The position CDS Sesame gave for a name that no stored object carries."""

    name: str
    ra_deg: float
    dec_deg: float
    source: str = Field(description="the database that answered: Simbad, NED or VizieR")


class ObjectsPage(Body):
    """A page of a search, with the number of matches in all."""

    total: int
    limit: int
    offset: int
    objects: list[Object]
    resolved: ResolvedName | None = Field(
        None, description="set when the name matched no stored name: the objects are around it"
    )


class FluxRow(Body):
    """One measurement of an object."""

    image_id: int
    time_utc: dt.datetime
    jd: float | None
    hjd: float | None
    observer: str
    line: int
    ra_deg: float | None
    dec_deg: float | None
    ap_auto: float | None
    ap_auto_dev: float | None
    ap_auto_saturated: bool | None
    ap: list[float | None]
    ap_dev: list[float | None]
    ap_saturated: list[bool | None]


class FluxesPage(Body):
    """A page of an object's fluxes in time order."""

    object: Object
    total: int
    limit: int
    offset: int
    fluxes: list[FluxRow]


class LightCurveRow(Body):
    """One image of a differential light curve."""

    image_id: int
    time_utc: dt.datetime
    jd: float | None
    hjd: float | None
    bjd_tdb: float | None = Field(description="BJD_TDB of mid-exposure for the variable")
    bjd_at_site: bool = Field(
        description="BJD_TDB computed at the observer's site; false: at the Earth's centre "
        "(the observer gave no site), within 21.3 ms"
    )
    night: dt.date
    observer: str
    filter: str | None
    magnitude: float | None
    deviation: float | None
    saturated: bool
    var_aperture: int = Field(description="0 is ApAuto")
    var_flux: float | None
    var_flux_dev: float | None
    cmp_aperture: int
    cmp_flux: float | None
    cmp_flux_dev: float | None
    check_magnitude: float | None = Field(None, description="only with a check star")
    check_deviation: float | None = Field(None, description="only with a check star")


class LightCurve(Body):
    """Differential photometry of a variable against one or several comparison stars."""

    variable: Object
    comparisons: list[Object]
    check: Object | None
    as_of: dt.datetime | None
    rows: list[LightCurveRow]


class Observer(Body):
    """An observer's public profile and totals."""

    username: str
    description: str | None
    created_at: dt.datetime
    longitude_deg: float | None = Field(description="the site: degrees east (west negative)")
    latitude_deg: float | None = Field(description="degrees north (south negative)")
    height_m: float | None = Field(description="metres above sea level")
    images: int
    fluxes: int
    uploads: int
    first_image: dt.datetime | None
    last_image: dt.datetime | None


class Ephemeris(Body):
    """``T(E) = epoch + period E + quadratic E^2`` (BJD_TDB, days), given or fitted."""

    epoch: float = Field(description="BJD_TDB of cycle 0")
    period: float = Field(description="days")
    quadratic: float = Field(description="days; 0 for a linear ephemeris")
    epoch_error: float | None = Field(description="standard error; null when given")
    period_error: float | None
    quadratic_error: float | None
    n: int = Field(description="timings fitted; 0 when given")
    chi2_dof: float | None = Field(description="reduced chi-square of the fit; null when given")
    fitted: bool = Field(description="fitted to the timings; false: as given")


class Timing(Body):
    """One time of minimum (or maximum), from one night of one observer in one filter."""

    bjd_tdb: float
    error_d: float | None = Field(description="days: the larger of the method's and the check's")
    kind: str = Field(description="minimum or maximum")
    type: str = Field(description="primary, secondary, or maximum")
    method: str
    n: int = Field(description="points timed")
    n_before: int
    n_after: int
    observer: str | None
    night: dt.date | None
    filter: str | None
    bjd_at_site: bool = Field(description="the observer's BJD_TDB were computed at their site")
    check_time: float | None = Field(description="BJD_TDB by the second method")
    check_error_d: float | None
    cycle: float | None = Field(description="null without an ephemeris; .5 for secondaries")
    o_c_d: float | None = Field(description="observed minus calculated, days")


class Minima(Body):
    """Times of minimum (or maximum) of a light curve, with O-C against an ephemeris."""

    variable: Object
    comparisons: list[Object]
    as_of: dt.datetime | None
    ephemeris: Ephemeris | None
    ephemeris_message: str | None = Field(
        description="why there is no ephemeris (too few timings to fit one), else null"
    )
    minima: list[Timing]


class VariableCandidate(Body):
    """A star of the field, ranked by its scatter over the field's noise at its magnitude."""

    rank: int
    star: int
    identifiers: list[str]
    name: str | None
    ra_deg: float
    dec_deg: float
    filter: str = Field(description="'' for images whose header named no filter")
    mag: float = Field(description="weighted mean calibrated magnitude")
    n: int = Field(description="points in the filter")
    std: float = Field(description="weighted standard deviation (mag)")
    expected_std: float | None = Field(description="the field's noise at this magnitude")
    excess: float | None = Field(description="std / expected_std: the ranking")
    chi2_dof: float | None
    robust_std: float | None = Field(description="interquartile range / 1.349")
    eta: float | None = Field(description="von Neumann's ratio")
    stetson_j: float | None
    amplitude: float | None = Field(description="5-95% range of the magnitudes")
    known_variable: bool = Field(description="a GCVS-style name")


class VariablesPage(Body):
    """A field's stars, best candidates first."""

    ra_deg: float
    dec_deg: float
    radius_deg: float
    filter: str | None = Field(description="the filter ranked; null: no statistics here")
    filters: list[str]
    total: int = Field(description="stars ranked")
    stars: list[VariableCandidate]
