# medkg API image (CPU). Build: docker build -t medkg . ; run through docker-compose.yml.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY kg ./kg
COPY extractors ./extractors
COPY schema ./schema
COPY loaders ./loaders
# CPU wheels of torch keep the image small; drop the extra index to get the CUDA build.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu . \
 && useradd --create-home medkg
USER medkg
EXPOSE 8000
# Keys come from MEDKG_API_KEYS; the store from MEDKG_NEO4J_URI / MEDKG_NEO4J_PASSWORD.
CMD ["medkg", "serve", "--host", "0.0.0.0", "--port", "8000"]
