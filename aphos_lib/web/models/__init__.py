"""The bodies the api service answers with, as pydantic models: the OpenAPI document's schemas.

The routes build their JSON themselves and send it as it is (:mod:`aphos_lib.web.rest.jsonout`:
NaN as ``null``, or the original client's ``NaN`` tokens); these models describe it, given to
each route as ``response_model``. Every model forbids fields it does not list, so the document
says exactly what is sent, and schemathesis and ``tests/test_web_app.py`` check real answers
against it.

- :mod:`~aphos_lib.web.models.compat`: the original APhoS API's schemas, under its names;
- :mod:`~aphos_lib.web.models.v2`: ``/api/v2``;
- :mod:`~aphos_lib.web.models.uploads`: the upload endpoints;
- :mod:`~aphos_lib.web.models.service`: health, profiles, published notebooks.
"""

from pydantic import BaseModel, ConfigDict

__all__ = ["Body"]


class Body(BaseModel):
    """A JSON body: exactly the fields listed, in the order they are sent."""

    model_config = ConfigDict(extra="forbid")
