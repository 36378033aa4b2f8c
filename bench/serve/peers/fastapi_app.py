"""The floor: the smallest honest FastAPI endpoint a developer would write around a joblib model.

`/predict` is a plain `def` (FastAPI runs it in its threadpool); `/predict_async` the same body
as `async def`, which FastAPI awaits on the loop (no thread hand-off).

Served with `uvicorn fastapi_app:app`; BENCH_MODEL_PATH names the joblib file. The model is
loaded in the lifespan, not at import time.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import joblib
import numpy as np
from fastapi import FastAPI, Request
from pydantic import BaseModel


class PredictRequest(BaseModel):
    rows: list[list[float]]


class PredictResponse(BaseModel):
    predictions: list[int]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.model = joblib.load(os.environ["BENCH_MODEL_PATH"])
    yield


app = FastAPI(lifespan=lifespan)


@app.post("/predict")
def predict(body: PredictRequest, request: Request) -> PredictResponse:
    model: Any = request.app.state.model
    return PredictResponse(predictions=model.predict(np.asarray(body.rows)).tolist())


@app.post("/predict_async")
async def predict_async(body: PredictRequest, request: Request) -> PredictResponse:
    """The `async def` floor (issue 14): no threadpool hop, the model runs on the event loop."""
    model: Any = request.app.state.model
    return PredictResponse(predictions=model.predict(np.asarray(body.rows)).tolist())
