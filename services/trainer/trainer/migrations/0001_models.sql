-- Base models (shared, subscription_id NULL) and custom models (one subscription's).
-- Deprecation dates are fixed when the model is registered, from its import/creation time.
CREATE TABLE models (
    id                          uuid PRIMARY KEY,
    kind                        text NOT NULL CHECK (kind IN ('Base', 'Custom')),
    subscription_id             uuid,
    project_id                  uuid,
    base_model_id               uuid REFERENCES models (id),
    display_name                text NOT NULL,
    description                 text NOT NULL DEFAULT '',
    locale                      text NOT NULL,
    engine                      text NOT NULL,
    status                      text NOT NULL CHECK (status IN ('NotStarted', 'Running', 'Succeeded', 'Failed')),
    package_key                 text,
    package_sha256              text,
    package_size_bytes          bigint,
    supports_adaptations_with   text[] NOT NULL DEFAULT '{}',
    created_at                  timestamptz NOT NULL,
    adaptation_until            timestamptz,
    transcription_until         timestamptz NOT NULL,
    CHECK ((kind = 'Base') = (subscription_id IS NULL))
);
CREATE INDEX base_models_by_locale ON models (locale, created_at DESC) WHERE kind = 'Base';
CREATE INDEX custom_models_by_subscription ON models (subscription_id, created_at) WHERE kind = 'Custom';
