import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { z } from 'zod';

import { fetchJson } from './http-json.js';

export interface WeatherConfig {
  /** Base URL of an Open-Meteo-compatible forecast API (`/v1/forecast` is appended). */
  forecastUrl?: string;
  /** Base URL of an Open-Meteo-compatible geocoding API (`/v1/search` is appended); place names need it. */
  geocodingUrl?: string;
  timeoutMs: number;
}

export interface WeatherQuery {
  location?: string;
  latitude?: number;
  longitude?: number;
  days: number;
  units: 'metric' | 'imperial';
}

export interface WeatherReport {
  location: { name: string; country?: string; region?: string; latitude: number; longitude: number; timezone: string };
  units: { temperature: string; wind_speed: string; precipitation: string };
  current: {
    time: string;
    temperature: number;
    apparent_temperature: number | null;
    relative_humidity: number | null;
    precipitation: number | null;
    wind_speed: number | null;
    conditions: string;
  };
  daily: Array<{
    date: string;
    temperature_max: number | null;
    temperature_min: number | null;
    precipitation_sum: number | null;
    precipitation_probability_max: number | null;
    conditions: string;
  }>;
  source: string;
}

const GeocodingResponse = z.object({
  results: z
    .array(
      z.object({
        name: z.string(),
        latitude: z.number(),
        longitude: z.number(),
        country: z.string().optional(),
        admin1: z.string().optional(),
        timezone: z.string().optional(),
      }),
    )
    .optional(),
});

const nullableNumbers = z.array(z.number().nullable());
const ForecastResponse = z.object({
  latitude: z.number(),
  longitude: z.number(),
  timezone: z.string(),
  current_units: z.object({ temperature_2m: z.string(), wind_speed_10m: z.string().optional(), precipitation: z.string().optional() }),
  current: z.object({
    time: z.string(),
    temperature_2m: z.number(),
    apparent_temperature: z.number().nullable().optional(),
    relative_humidity_2m: z.number().nullable().optional(),
    precipitation: z.number().nullable().optional(),
    wind_speed_10m: z.number().nullable().optional(),
    weather_code: z.number().nullable().optional(),
  }),
  daily: z.object({
    time: z.array(z.string()),
    weather_code: nullableNumbers.optional(),
    temperature_2m_max: nullableNumbers.optional(),
    temperature_2m_min: nullableNumbers.optional(),
    precipitation_sum: nullableNumbers.optional(),
    precipitation_probability_max: nullableNumbers.optional(),
  }),
});

/**
 * Current weather and a daily forecast from an Open-Meteo-compatible API. Nothing is ever made up: an
 * unconfigured service, an unknown place, an unreachable or misbehaving API are all errors.
 */
export async function getWeather(config: WeatherConfig, query: WeatherQuery, signal?: AbortSignal): Promise<WeatherReport> {
  if (config.forecastUrl === undefined) {
    throw new EnsembleError(
      ErrorCode.Unavailable,
      'Weather is not configured on this server (WEATHER_API_URL is unset), so no weather data is available. Tell the user weather lookups are unavailable.',
      { wireCode: 'not_configured' },
    );
  }
  const place = await resolvePlace(config, query, signal);
  const url = new URL('v1/forecast', withSlash(config.forecastUrl));
  const params = url.searchParams;
  params.set('latitude', String(place.latitude));
  params.set('longitude', String(place.longitude));
  params.set('current', 'temperature_2m,apparent_temperature,relative_humidity_2m,precipitation,wind_speed_10m,weather_code');
  params.set('daily', 'weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum,precipitation_probability_max');
  params.set('timezone', 'auto');
  params.set('forecast_days', String(query.days));
  if (query.units === 'imperial') {
    params.set('temperature_unit', 'fahrenheit');
    params.set('wind_speed_unit', 'mph');
    params.set('precipitation_unit', 'inch');
  }
  const raw = await fetchJson(url, { service: 'The weather service', timeoutMs: config.timeoutMs, ...(signal === undefined ? {} : { signal }) });
  const parsed = ForecastResponse.safeParse(raw);
  if (!parsed.success) {
    throw new EnsembleError(ErrorCode.UpstreamError, `The weather service returned data in an unexpected shape (${parsed.error.issues[0]?.path.join('.') ?? 'body'}); no weather is available`);
  }
  const forecast = parsed.data;
  const daily = forecast.daily;
  return {
    location: { ...place, timezone: forecast.timezone },
    units: {
      temperature: forecast.current_units.temperature_2m,
      wind_speed: forecast.current_units.wind_speed_10m ?? (query.units === 'imperial' ? 'mph' : 'km/h'),
      precipitation: forecast.current_units.precipitation ?? (query.units === 'imperial' ? 'inch' : 'mm'),
    },
    current: {
      time: forecast.current.time,
      temperature: forecast.current.temperature_2m,
      apparent_temperature: forecast.current.apparent_temperature ?? null,
      relative_humidity: forecast.current.relative_humidity_2m ?? null,
      precipitation: forecast.current.precipitation ?? null,
      wind_speed: forecast.current.wind_speed_10m ?? null,
      conditions: describeWeatherCode(forecast.current.weather_code),
    },
    daily: daily.time.map((date, index) => ({
      date,
      temperature_max: daily.temperature_2m_max?.[index] ?? null,
      temperature_min: daily.temperature_2m_min?.[index] ?? null,
      precipitation_sum: daily.precipitation_sum?.[index] ?? null,
      precipitation_probability_max: daily.precipitation_probability_max?.[index] ?? null,
      conditions: describeWeatherCode(daily.weather_code?.[index]),
    })),
    source: new URL(config.forecastUrl).host,
  };
}

async function resolvePlace(config: WeatherConfig, query: WeatherQuery, signal?: AbortSignal): Promise<Omit<WeatherReport['location'], 'timezone'>> {
  if (query.latitude !== undefined && query.longitude !== undefined) {
    return { name: query.location ?? `${query.latitude}, ${query.longitude}`, latitude: query.latitude, longitude: query.longitude };
  }
  if (query.location === undefined || query.location.trim() === '') {
    throw new EnsembleError(ErrorCode.InvalidRequest, 'Give either "location" (a place name) or both "latitude" and "longitude"');
  }
  if (config.geocodingUrl === undefined) {
    throw new EnsembleError(
      ErrorCode.Unavailable,
      `Place names cannot be looked up on this server (WEATHER_GEOCODING_URL is unset); call again with "latitude" and "longitude" for ${query.location}`,
      { wireCode: 'not_configured' },
    );
  }
  const url = new URL('v1/search', withSlash(config.geocodingUrl));
  url.searchParams.set('name', query.location.trim());
  url.searchParams.set('count', '1');
  url.searchParams.set('language', 'en');
  url.searchParams.set('format', 'json');
  const raw = await fetchJson(url, { service: 'The geocoding service', timeoutMs: config.timeoutMs, ...(signal === undefined ? {} : { signal }) });
  const parsed = GeocodingResponse.safeParse(raw);
  if (!parsed.success) throw new EnsembleError(ErrorCode.UpstreamError, 'The geocoding service returned data in an unexpected shape');
  const hit = parsed.data.results?.[0];
  if (hit === undefined) {
    throw new EnsembleError(ErrorCode.NotFound, `No place called "${query.location}" was found; try the city name alone, or a nearby larger city`);
  }
  return {
    name: hit.name,
    latitude: hit.latitude,
    longitude: hit.longitude,
    ...(hit.country === undefined ? {} : { country: hit.country }),
    ...(hit.admin1 === undefined ? {} : { region: hit.admin1 }),
  };
}

function withSlash(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}

/** WMO weather interpretation codes, as Open-Meteo documents them. */
const WMO_CODES: Record<number, string> = {
  0: 'clear sky',
  1: 'mainly clear',
  2: 'partly cloudy',
  3: 'overcast',
  45: 'fog',
  48: 'depositing rime fog',
  51: 'light drizzle',
  53: 'moderate drizzle',
  55: 'dense drizzle',
  56: 'light freezing drizzle',
  57: 'dense freezing drizzle',
  61: 'slight rain',
  63: 'moderate rain',
  65: 'heavy rain',
  66: 'light freezing rain',
  67: 'heavy freezing rain',
  71: 'slight snowfall',
  73: 'moderate snowfall',
  75: 'heavy snowfall',
  77: 'snow grains',
  80: 'slight rain showers',
  81: 'moderate rain showers',
  82: 'violent rain showers',
  85: 'slight snow showers',
  86: 'heavy snow showers',
  95: 'thunderstorm',
  96: 'thunderstorm with slight hail',
  99: 'thunderstorm with heavy hail',
};

function describeWeatherCode(code: number | null | undefined): string {
  if (code === null || code === undefined) return 'unknown';
  return WMO_CODES[code] ?? `unknown (WMO code ${code})`;
}
